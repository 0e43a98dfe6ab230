//! PortOne webhooks: the bodies of every version ([`payload`]) and the
//! [`PortOneWebhookVerifier`] (sender allowlist, Standard Webhooks signatures, dedupe ids,
//! redelivery schedules).

pub mod payload;
mod verifier;

pub use self::verifier::{
    payload_dedupe_id, redelivery_v1, redelivery_v2, PortOneWebhookVerifier,
    PortOneWebhookVerifierBuilder, VerifierConfigError, WebhookGeneration, V1_WEBHOOK_IPS,
    V2_WEBHOOK_IPS,
};
