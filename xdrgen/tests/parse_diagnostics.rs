//! The exact text users read for malformed input: syntax errors with user-facing token names,
//! preprocessor errors and warnings.

use xdrgen::diagnostic::Diagnostics;
use xdrgen::parse::parse_source;
use xdrgen::source::SourceMap;

/// Parses `text` as `t.x` and renders every diagnostic.
fn diagnose(text: &str) -> String {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let parsed = parse_source(&mut sources, "t.x", text, &mut diags);
    assert_eq!(
        parsed.is_none(),
        diags.has_errors(),
        "a file is returned exactly when it has no errors"
    );
    diags.render(&sources)
}

#[test]
fn missing_semicolon() {
    insta::assert_snapshot!(diagnose("struct a {\n    int x\n};\n"));
}

#[test]
fn missing_semicolon_after_const() {
    insta::assert_snapshot!(diagnose("const A = 1\nconst B = 2;\n"));
}

#[test]
fn missing_closing_brace_at_end_of_file() {
    insta::assert_snapshot!(diagnose("struct a {\n    int x;\n"));
}

#[test]
fn missing_closing_brace_of_enum() {
    insta::assert_snapshot!(diagnose(
        "enum e {\n    A = 1,\n    B = 2\n\nconst C = 3;\n"
    ));
}

#[test]
fn missing_type() {
    insta::assert_snapshot!(diagnose("struct a {\n    int x;\n    = 3;\n};\n"));
}

#[test]
fn keyword_as_identifier() {
    insta::assert_snapshot!(diagnose("struct a {\n    int version;\n};\n"));
}

#[test]
fn string_needs_angle_brackets() {
    insta::assert_snapshot!(diagnose("typedef string s[10];\n"));
}

#[test]
fn garbage_at_top_level() {
    insta::assert_snapshot!(diagnose("const A = 1;\nfoo bar;\n"));
}

#[test]
fn pass_through_not_in_column_zero() {
    insta::assert_snapshot!(diagnose(" %#include <x.h>\n"));
}

#[test]
fn unterminated_comment() {
    insta::assert_snapshot!(diagnose("const A = 1;\n/* never closed\nconst B = 2;\n"));
}

#[test]
fn bad_literals() {
    insta::assert_snapshot!(diagnose(
        "const A = 0x;\nconst B = 09;\nconst C = 12ab;\nconst D = 99999999999999999999999;\n"
    ));
}

#[test]
fn unknown_directive_and_pragma_warnings() {
    insta::assert_snapshot!(diagnose(
        "#frobnicate yes\n#pragma once\n#include <rpc/types.h>\n#define TWICE(x) (2 * (x))\n#define EXPR (1 + 2)\nconst A = 1;\n"
    ));
}

#[test]
fn unterminated_if() {
    insta::assert_snapshot!(diagnose("#ifdef RPC_HDR\n%int x;\nconst A = 1;\n"));
}

#[test]
fn unmatched_endif_and_bad_if_expression() {
    insta::assert_snapshot!(diagnose("#endif\n#if 1 +\n#endif\nconst A = 1;\n"));
}

#[test]
fn missing_include() {
    insta::assert_snapshot!(diagnose("#include \"no_such_file.x\"\nconst A = 1;\n"));
}

#[test]
fn string_constant_that_is_not_utf8_warning() {
    // `const HELLO = "hi";` is a `&str` constant; one whose bytes are not UTF-8 cannot be.
    insta::assert_snapshot!(diagnose("const HELLO = \"h\\xffi\";\n"));
}

#[test]
fn clean_input_has_no_diagnostics() {
    assert_eq!(diagnose("/* ok */\nconst A = 1;\n"), "");
}

#[test]
fn pointer_procedure_arguments_are_ignored_with_a_warning() {
    insta::assert_snapshot!(diagnose(
        "program P {\n    version V {\n        int PUT(string<10> s, node *n) = 2;\n    } = 1;\n} = 100;\n"
    ));
}

#[test]
fn define_of_an_expression_is_ignored_with_a_warning() {
    insta::assert_snapshot!(diagnose("#define BIG (A + 1)\nconst A = 1;\n"));
}
