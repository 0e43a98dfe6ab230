//! The fake (`fake/`, written from PortOne's documentation, not from this crate) agrees with
//! this crate on what both publish: the PG's id and its webhook redelivery schedules.

#[test]
fn the_fake_has_this_crates_id() {
    assert_eq!(hanpay_portone_fake::ID, hanpay_portone::ID);
    assert_eq!(
        hanpay_fake::sandbox::FakePlugin::id(&hanpay_portone_fake::FAKE),
        hanpay_portone::ID
    );
}

#[test]
fn fake_schedules_agree_with_the_provider_crate() {
    assert_eq!(
        hanpay_portone_fake::redelivery_v2(),
        hanpay_portone::webhook::redelivery_v2()
    );
    assert_eq!(
        hanpay_portone_fake::redelivery_v1(),
        hanpay_portone::webhook::redelivery_v1()
    );
}
