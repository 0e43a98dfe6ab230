//! The REST API's limits, read by the handlers and by the idempotency layer that buffers a
//! request's body before them.

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
