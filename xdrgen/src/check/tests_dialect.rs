//! Unit tests of what rpcgen accepts beyond the RFCs (issue 14, steps 5 to 7): zero-length
//! fixed arrays, `longlong_t`, identical repeated typedefs, pointer procedure arguments,
//! character case labels, `%#define` constants and string constants.

use crate::diagnostic::Severity;
use crate::model::*;

use super::tests::{errors, field_types, model, run, run_files};
use super::Options;

/// The value of a numeric constant of the (single-module) model.
fn const_value(m: &Model, name: &str) -> Option<i128> {
    m.modules
        .iter()
        .flat_map(|module| &module.consts)
        .find(|c| c.xdr_name == name)
        .map(|c| c.value)
}

/// The warnings of one file.
fn warnings(text: &str) -> Vec<String> {
    let (_, diags) = run(text);
    diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.message.clone())
        .collect()
}

#[test]
fn zero_length_fixed_arrays_and_solaris_64_bit_names_are_types() {
    let m = model("struct s { opaque results[0]; int none[0]; longlong_t a; u_longlong_t b; };");
    let zero = Size {
        value: 0,
        name: None,
    };
    assert_eq!(
        field_types(&m, "s"),
        vec![
            Type::FixedOpaque(zero.clone()),
            Type::FixedArray(Box::new(Type::Int), zero),
            Type::Hyper,
            Type::UnsignedHyper,
        ]
    );
    // A negative size is still refused.
    assert_eq!(
        errors("struct s { int a[-1]; };"),
        ["a size must be between 0 and 4294967295, but `-1` is -1"]
    );
}

#[test]
fn an_identical_repeated_typedef_is_a_warning_and_a_different_one_an_error() {
    let text = "typedef int id;\ntypedef   int   id ;\nstruct s { id a; };";
    assert_eq!(
        warnings(text),
        ["`id` is typedef'd again, identically: the repeat is ignored"]
    );
    let m = model(text);
    assert_eq!(
        m.modules[0]
            .types
            .iter()
            .filter(|t| t.xdr_name == "id")
            .count(),
        1
    );
    assert_eq!(
        errors("typedef int id;\ntypedef hyper id;"),
        ["duplicate definition of `id`"]
    );
    // A struct written twice is not a typedef: still an error.
    assert_eq!(
        errors("struct s { int a; };\nstruct s { int a; };"),
        ["duplicate definition of `s`"]
    );
}

#[test]
fn a_pointer_procedure_argument_is_the_value_with_a_warning() {
    let text = "struct a { int x; };\n\
                program P { version V { int GET(a *) = 1; } = 1; } = 0x20000001;";
    let w = warnings(text);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("`*` ignored, as rpcgen does"), "{w:?}");
    let m = model(text);
    let proc = &m.modules[0].programs[0].versions[0].procedures[0];
    assert_eq!(proc.args.len(), 1);
    assert!(
        matches!(&proc.args[0], Type::Named(r) if r.xdr_name == "a"),
        "{:?}",
        proc.args
    );
}

#[test]
fn character_case_labels_have_their_codes_and_a_char_discriminant_its_range() {
    let m = model(
        "union u switch (char c) { case 'a': int x; case 'Z': case '0': void; \
         case '\\n': case '\\'': case '\\x7f': case '\\101': hyper y; default: void; };",
    );
    let TypeKind::Union(u) = &m.type_def("u").expect("u").kind else {
        panic!("not a union");
    };
    assert_eq!(u.discriminant, Type::Char);
    let values: Vec<i128> = u.cases.iter().map(|c| c.value).collect();
    assert_eq!(values, [97, 90, 48, 10, 39, 127, 65]);
    // A char is signed, as on x86-64: '\xff' is -1.
    let m = model("union u switch (char c) { case '\\xff': int x; default: void; };");
    let TypeKind::Union(u) = &m.type_def("u").expect("u").kind else {
        panic!("not a union");
    };
    assert_eq!(u.cases[0].value, -1);
    assert_eq!(
        errors("union u switch (char c) { case 200: int x; };"),
        ["case `200` (200) is out of range for the char discriminant"]
    );
    assert_eq!(
        errors("union u switch (unsigned short c) { case -1: int x; };"),
        ["case `-1` (-1) is out of range for the unsigned short discriminant"]
    );
}

#[test]
fn bad_character_constants_are_named() {
    for (text, message) in [
        (
            "const A = '\\q';",
            "invalid character constant '\\q': one ASCII character or escape",
        ),
        (
            "const A = '\\777';",
            "character constant '\\777' does not fit in a char",
        ),
    ] {
        let mut sources = crate::source::SourceMap::new();
        let mut diagnostics = crate::diagnostic::Diagnostics::new();
        let parsed = crate::parse::parse_source(&mut sources, "t.x", text, &mut diagnostics);
        assert!(parsed.is_none(), "{text}");
        let messages: Vec<String> = diagnostics.iter().map(|d| d.message.clone()).collect();
        assert_eq!(messages, [message], "{text}");
    }
}

#[test]
fn pass_through_defines_of_integer_expressions_are_constants() {
    let m = model(
        "%#define A 8\n\
         %#define B (A * 2 + 1) /* a comment */\n\
         %#define C 0x10 << 1\n\
         %#define MAC(x) ((x) + 1)\n\
         %#define opaque char\n\
         %#define LONG (1 + \\\n\
         %#define UNKNOWN (NOT_DEFINED + 1)\n\
         #ifdef RPC_HDR\n\
         %#define HDR 3\n\
         #endif\n\
         #ifndef RPC_HDR\n\
         %#define NOT_HDR 4\n\
         #endif\n\
         struct s { int a<B>; };",
    );
    assert_eq!(const_value(&m, "A"), Some(8));
    assert_eq!(const_value(&m, "B"), Some(17));
    assert_eq!(const_value(&m, "C"), Some(32));
    // Only C's header pass sees HDR, and only the other passes NOT_HDR: C sees both.
    assert_eq!(const_value(&m, "HDR"), Some(3));
    assert_eq!(const_value(&m, "NOT_HDR"), Some(4));
    for ignored in ["MAC", "opaque", "LONG", "UNKNOWN"] {
        assert_eq!(const_value(&m, ignored), None, "{ignored}");
    }
}

#[test]
fn a_const_or_a_user_constant_wins_over_a_pass_through_define() {
    let text = "%#define N 4\nconst N = 5;\n%#define M 6\nconst M = 6;\nstruct s { int a<N>; };";
    let (model, diags) = run(text);
    let m = model.expect("checks");
    assert_eq!(const_value(&m, "N"), Some(5));
    assert_eq!(const_value(&m, "M"), Some(6));
    let warnings: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        warnings,
        ["`%#define N` differs from the unit's definition"]
    );

    let mut options = Options::default();
    options.constants.insert("N".into(), 7);
    let (model, diags) = run_files(
        &[("t.x", "%#define N 4\nstruct s { int a<N>; };")],
        &options,
    );
    let m = model.expect("checks");
    let TypeKind::Struct(s) = &m.type_def("s").expect("s").kind else {
        panic!("not a struct");
    };
    assert!(
        matches!(
            &s.fields[0].ty,
            Type::VarArray(_, Some(Size { value: 7, .. }))
        ),
        "{:?}",
        s.fields[0].ty
    );
    assert_eq!(
        diags[0].message,
        "`%#define N` is 4, but it is also given as a constant option (7)"
    );
}

#[test]
fn string_constants_are_text_and_not_numbers() {
    let m = model("const NAME = \"a\\tb \\\\ \\101\";");
    assert_eq!(
        m.modules[0].texts,
        [TextConst {
            xdr_name: "NAME".into(),
            rust_name: "NAME".into(),
            text: "a\tb \\ A".into(),
            docs: m.modules[0].texts[0].docs.clone(),
        }]
    );
    assert_eq!(
        errors("const NAME = \"x\";\nstruct s { int a<NAME>; };"),
        ["`NAME` is a string constant, not a number"]
    );
    assert_eq!(
        errors("const NAME = \"x\";\nconst NAME = 1;"),
        ["duplicate definition of `NAME`"]
    );
    let w = warnings("const BAD = \"\\xff\";");
    assert_eq!(
        w,
        ["string constant `BAD` ignored: its bytes are not UTF-8"]
    );
}

#[test]
fn a_typedef_of_an_unsigned_char_array_is_a_warning() {
    let w = warnings("typedef unsigned char uc_t; typedef uc_t bytes4[4]; typedef opaque ok[4];");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("`bytes4` is a fixed array of `unsigned char`"),
        "{w:?}"
    );
    assert!(warnings("struct s { unsigned char uc[4]; };").is_empty());
}
