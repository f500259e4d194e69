//! Compile-time checks of `#[gateway]`: each mistake a user can make has a case here, with the
//! expected compiler output checked in (`TRYBUILD=overwrite cargo test -p gateway-macros` to
//! regenerate, then review the diff).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
