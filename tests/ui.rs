//! Compile-time errors of `network!` and of other misuse the type system rejects (such as
//! an image augmentation for the wrong image size), checked against the reviewed `.stderr`
//! snapshots in `tests/ui/`. Regenerate a snapshot with
//! `TRYBUILD=overwrite cargo test --test ui` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    // A pass case makes trybuild run `cargo build` instead of `cargo check`. The image-size
    // assertion of the augmentation transforms needs it: the compiler evaluates it when it
    // instantiates generic code, and `cargo check` stops before that.
    cases.pass("tests/ui/pass/*.rs");
}
