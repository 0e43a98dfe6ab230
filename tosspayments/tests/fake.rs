//! The fake (`fake/`, written from Toss's documentation, not from this crate) agrees with this
//! crate on what both publish: the PG's id and its webhook redelivery schedule.

#[test]
fn the_fake_has_this_crates_id() {
    assert_eq!(hanpay_tosspayments_fake::ID, hanpay_tosspayments::ID);
    assert_eq!(
        hanpay_fake::sandbox::FakePlugin::id(&hanpay_tosspayments_fake::FAKE),
        hanpay_tosspayments::ID
    );
}

#[test]
fn fake_schedule_agrees_with_the_provider_crate() {
    assert_eq!(
        hanpay_tosspayments_fake::redelivery_schedule(),
        hanpay_tosspayments::redelivery_schedule()
    );
}
