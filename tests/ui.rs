//! Compile-time errors of `network!`, checked against the reviewed `.stderr` snapshots in
//! `tests/ui/`. Regenerate a snapshot with `TRYBUILD=overwrite cargo test --test ui` and
//! review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
