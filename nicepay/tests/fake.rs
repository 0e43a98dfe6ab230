//! The fake (`fake/`, written from NICEPAY's documentation, not from this crate) has this
//! crate's id.

#[test]
fn the_fake_has_this_crates_id() {
    assert_eq!(hanpay_nicepay_fake::ID, hanpay_nicepay::ID);
    assert_eq!(
        hanpay_fake::sandbox::FakePlugin::id(&hanpay_nicepay_fake::FAKE),
        hanpay_nicepay::ID
    );
}
