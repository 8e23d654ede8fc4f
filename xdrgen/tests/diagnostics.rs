//! Snapshot tests pinning the exact rendered diagnostics for our own broken fixtures
//! (`tests/fixtures/broken/*.x`), in the manner of serde's `tests/ui`.

use std::path::PathBuf;

/// Loads one fixture (by a path relative to the crate, so the rendered paths are stable) and
/// renders every diagnostic; the fixture must fail.
fn rendered(name: &str) -> String {
    let path = PathBuf::from("tests/fixtures/broken").join(name);
    let options = xdrgen::check::Options::default();
    match xdrgen::load(&[path], &options) {
        Ok(_) => panic!("{name} should not check"),
        Err(e) => e.render(),
    }
}

macro_rules! fixture {
    ($test:ident, $file:literal) => {
        #[test]
        fn $test() {
            insta::assert_snapshot!(rendered($file));
        }
    };
}

fixture!(undefined_type, "undefined_type.x");
fixture!(undefined_constant, "undefined_constant.x");
fixture!(duplicate_definition, "duplicate_definition.x");
fixture!(union_case_outside_enum, "union_case_outside_enum.x");
fixture!(struct_contains_itself, "struct_contains_itself.x");
fixture!(duplicate_case_label, "duplicate_case_label.x");
fixture!(bad_program_numbering, "bad_program_numbering.x");
fixture!(quadruple, "quadruple.x");
fixture!(missing_semicolon, "missing_semicolon.x");
fixture!(unterminated_comment, "unterminated_comment.x");
fixture!(many_errors_in_one_run, "many_errors.x");
