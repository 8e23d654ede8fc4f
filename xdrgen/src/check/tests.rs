//! Unit tests of the checker's rules, each on a small source parsed with `parse_source`.

use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::model::*;
use crate::parse::parse_source;
use crate::source::SourceMap;

use super::{check, Options};

/// Checks sources (`(path, text)`, one unit) and returns the model and all diagnostics.
pub(super) fn run_files(
    files: &[(&str, &str)],
    options: &Options,
) -> (Option<Model>, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let mut diagnostics = Diagnostics::new();
    let parsed: Vec<_> = files
        .iter()
        .map(|(path, text)| {
            parse_source(&mut sources, path, text, &mut diagnostics)
                .unwrap_or_else(|| panic!("test source does not parse: {diagnostics:?}"))
        })
        .collect();
    let model = check(&parsed, options, &sources, &mut diagnostics);
    (model, diagnostics.into_vec())
}

/// One file, default options.
pub(super) fn run(text: &str) -> (Option<Model>, Vec<Diagnostic>) {
    run_files(&[("t.x", text)], &Options::default())
}

/// The error messages of one file.
pub(super) fn errors(text: &str) -> Vec<String> {
    let (model, diags) = run(text);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(model.is_none(), !errors.is_empty(), "model iff no errors");
    errors
}

/// The model of a file that must check cleanly.
pub(crate) fn model(text: &str) -> Model {
    let (model, diags) = run(text);
    model.unwrap_or_else(|| panic!("unexpected errors: {diags:#?}"))
}

/// A struct's field types.
pub(super) fn field_types(m: &Model, name: &str) -> Vec<Type> {
    match &m.type_def(name).expect("type").kind {
        TypeKind::Struct(s) => s.fields.iter().map(|f| f.ty.clone()).collect(),
        other => panic!("not a struct: {other:?}"),
    }
}

#[test]
fn undefined_type_and_constant_are_named_with_a_hint() {
    let (_, diags) = run("struct s { foo a; int b[FOO]; };");
    assert_eq!(diags.len(), 2);
    assert_eq!(diags[0].message, "undefined type `foo`");
    assert_eq!(
        diags[0].notes,
        ["if it is defined in C, map it with --extern-type foo=RUST_PATH"]
    );
    assert_eq!(diags[1].message, "undefined constant `FOO`");
    assert_eq!(
        diags[1].notes,
        ["define it with --constant FOO=VALUE (or Config::constant)"]
    );
}

#[test]
fn libtirpc_types_resolve_unless_the_file_defines_them() {
    let m = model("struct s { u_int a; int8_t b; uint64_t c; netobj d; };");
    assert_eq!(
        field_types(&m, "s")[..3],
        [Type::UnsignedInt, Type::Char, Type::UnsignedHyper]
    );
    assert_eq!(
        field_types(&m, "s")[3],
        Type::VarOpaque(Some(Size {
            value: 1024,
            name: None
        }))
    );
    let m = model("typedef hyper int64_t; struct s { int64_t a; };");
    assert!(matches!(&field_types(&m, "s")[0], Type::Named(r) if r.xdr_name == "int64_t"));
}

#[test]
fn extern_types_and_user_constants() {
    let mut options = Options::default();
    options
        .extern_types
        .insert("cstuff".into(), "crate::CStuff".into());
    options.constants.insert("N".into(), 16);
    options.constants.insert("UNUSED".into(), 1);
    let (m, diags) = run_files(&[("t.x", "struct s { cstuff a; opaque b[N]; };")], &options);
    assert!(diags.is_empty(), "{diags:?}");
    let m = m.expect("model");
    let tys = field_types(&m, "s");
    assert_eq!(
        tys[0],
        Type::Extern {
            xdr_name: "cstuff".into(),
            rust_path: "crate::CStuff".into()
        }
    );
    assert_eq!(
        tys[1],
        Type::FixedOpaque(Size {
            value: 16,
            name: Some("N".into())
        })
    );
    // Only the used user constant joins the model, with its doc.
    assert!(m.modules[0].consts.is_empty(), "no file defines N");
    let consts = &m.user_constants;
    assert_eq!(consts.len(), 1);
    assert_eq!((consts[0].xdr_name.as_str(), consts[0].value), ("N", 16));
    assert_eq!(consts[0].docs.comment, [super::USER_CONSTANT_DOC]);
}

#[test]
fn duplicates_share_one_namespace_across_files() {
    let (_, diags) = run_files(
        &[
            ("a.x", "const X = 1;\nenum e { A = 1 };"),
            ("b.x", "struct X { int a; };\nconst A = 2;"),
        ],
        &Options::default(),
    );
    let msgs: Vec<_> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs,
        ["duplicate definition of `X`", "duplicate definition of `A`"]
    );
    assert_eq!(diags[0].notes, ["first defined at a.x:1:7"]);
    assert_eq!(diags[1].notes, ["first defined at a.x:2:10"]);
}

#[test]
fn typedef_struct_tag_alias_is_not_a_duplicate() {
    let m = model("struct a { int x; };\ntypedef struct a a;");
    assert_eq!(m.modules[0].types.len(), 1);
}

#[test]
fn constants_resolve_through_names_and_cycles_are_errors() {
    let m = model("const A = B; const B = 0x10; enum e { X = A, Y, Z = -1 };");
    assert_eq!(m.modules[0].consts[0].value, 16);
    let TypeKind::Enum(e) = &m.type_def("e").unwrap().kind else {
        panic!()
    };
    let values: Vec<i32> = e.members.iter().map(|m| m.value).collect();
    assert_eq!(values, [16, 17, -1]);
    assert_eq!(
        errors("const A = B; const B = A;"),
        ["constant `A` is defined in terms of itself"]
    );
    assert_eq!(
        errors("struct s { int a; }; const C = s;"),
        ["`s` is a type, not a constant"]
    );
}

#[test]
fn sizes_must_fit_u32() {
    // `[0]` is rpcgen's (and RFC 5531's `opaque results[0]`): see tests_dialect.rs.
    assert_eq!(
        errors("struct s { opaque a[0]; int b<0>; string c<0x100000000>; };"),
        ["a size must be between 0 and 4294967295, but `4294967296` is 4294967296"]
    );
    let m = model("const M = 8; struct s { string a<M>; opaque b<>; };");
    assert_eq!(
        field_types(&m, "s"),
        [
            Type::String(Some(Size {
                value: 8,
                name: Some("M".into())
            })),
            Type::VarOpaque(None)
        ]
    );
}

#[test]
fn enum_values_fit_i32_and_duplicates_warn() {
    assert_eq!(
        errors("enum e { A = 0x80000000 };"),
        ["value 2147483648 of enum member `A` does not fit a 32-bit int"]
    );
    let (m, diags) = run("enum e { A = 1, B = 1 };");
    assert!(m.is_some());
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].severity, Severity::Warning);
    assert_eq!(
        diags[0].message,
        "enum member `B` has the value 1 of `A`, and becomes its alias"
    );
}

#[test]
fn union_discriminants_and_labels() {
    assert_eq!(
        errors("union u switch (hyper d) { case 1: int a; };"),
        ["a union's discriminant must be an int, unsigned int, bool, enum, char or short"]
    );
    assert_eq!(
        errors(
            "enum e { A, B }; enum f { C = 5 };\n\
             union u switch (e d) { case A: int a; case C: int b; case 7: void; };"
        ),
        [
            "case `C` is not a member of enum `e`",
            "case `7` (7) is not a value of enum `e`"
        ]
    );
    assert_eq!(
        errors("union u switch (int d) { case 1: int a; case 2: case 1: void; };"),
        ["duplicate case `1` (1)"]
    );
    // Labels that cannot be evaluated are reported once each, not also as duplicates.
    assert_eq!(
        errors("union u switch (int d) { case UNDEF_A: int a; case UNDEF_B: void; };"),
        [
            "undefined constant `UNDEF_A`",
            "undefined constant `UNDEF_B`"
        ]
    );
    assert_eq!(
        errors("union u switch (bool d) { case TRUE: int a; case 2: void; };"),
        ["case `2` (2) is out of range for the bool discriminant"]
    );
}

#[test]
fn union_through_typedef_with_enum_values() {
    let m = model(
        "enum e { E_A = 1, E_B = 2 }; typedef e f;\n\
         union u switch (f d) { case E_A: int a; case 2: void; default: hyper h; };",
    );
    let TypeKind::Union(u) = &m.type_def("u").unwrap().kind else {
        panic!()
    };
    assert!(matches!(&u.discriminant, Type::Named(r) if r.xdr_name == "e"));
    let cases: Vec<(i128, &str, bool)> = u
        .cases
        .iter()
        .map(|c| (c.value, c.rust_name.as_str(), c.field.is_some()))
        .collect();
    assert_eq!(cases, [(1, "A", true), (2, "B", false)]);
    assert!(matches!(&u.default, Some(Some(f)) if f.ty == Type::Hyper));
}

#[test]
fn a_type_containing_itself_is_an_error_naming_the_path() {
    assert_eq!(
        errors("struct a { b x; }; struct b { a y[2]; };"),
        ["struct `a` contains itself without `*` (infinite size): a.x -> b.y -> a"]
    );
    assert_eq!(
        errors("typedef t t2; typedef t2 t;"),
        ["typedef `t2` contains itself without `*` (infinite size): t2 -> t -> t2"]
    );
}

#[test]
fn lists_are_recursive_and_boxed_only_when_needed() {
    let m = model(
        "struct node { int v; node *next; node kids<>; };\n\
         struct leaf { int v; };\n\
         struct holder { leaf *l; node *n; };",
    );
    let node = m.type_def("node").unwrap();
    assert!(node.recursive);
    assert!(matches!(
        field_types(&m, "node")[1],
        Type::Optional { boxed: true, .. }
    ));
    assert!(!m.type_def("holder").unwrap().recursive);
    let holder = field_types(&m, "holder");
    assert!(matches!(holder[0], Type::Optional { boxed: false, .. }));
    // `node` does not reach `holder`: an unboxed Option<Node> has finite size.
    assert!(matches!(holder[1], Type::Optional { boxed: false, .. }));
}

#[test]
fn void_and_quadruple_are_rejected() {
    assert_eq!(
        errors("struct s { void; quadruple q; };"),
        [
            "`void` is not allowed as a struct field",
            "quadruple (128-bit float) has no Rust type"
        ]
    );
}

#[test]
fn onc_programs_are_checked() {
    assert_eq!(
        errors(
            "program P { version V { int F(int) = 1; int G(int, hyper) = 1; int F(void) = 2; } = 1;\n\
             version V { void N(void) = 0; } = 1; } = 0x100000000;"
        ),
        [
            "program number `4294967296` (4294967296) is not in 0..=4294967295",
            "duplicate procedure number 1 (`G`)",
            "duplicate procedure `F`",
            "duplicate version `V`",
            "duplicate version number 1 (`V`)"
        ]
    );
    let m = model("program PING_PROG { version PING_VERS { int PINGPROC_TWO(int, hyper) = 2; } = 3; } = 0x20000001;");
    let p = &m.modules[0].programs[0];
    assert_eq!(
        (p.rust_name.as_str(), p.number, p.style),
        ("Ping", 0x2000_0001, ProgramStyle::OncRpc)
    );
    let proc = &p.versions[0].procedures[0];
    assert_eq!(proc.args, [Type::Int, Type::Hyper]);
    assert_eq!(proc.result, Some(Type::Int));
    assert_eq!(p.versions[0].number, 3);
}

#[test]
fn string_procedure_types_are_strings() {
    let m = model(
        "const MSG_MAX = 80;\n\
         program MESSAGEPROG { version V { int PRINT(string) = 1; string ECHO(string<MSG_MAX>) = 2; } = 1; } = 0x20000001;",
    );
    let procs = &m.modules[0].programs[0].versions[0].procedures;
    assert_eq!(procs[0].args, [Type::String(None)]);
    assert_eq!(procs[1].result, Some(Type::String(None)));
    assert_eq!(
        procs[1].args,
        [Type::String(Some(Size {
            value: 80,
            name: Some("MSG_MAX".into())
        }))]
    );
}

/// A small libvirt-style protocol (written for this test).
const LIBVIRT_STYLE: &str = "\
struct demo_ping_args { int n; };
struct demo_ping_ret { int n; };
struct demoTickMsg { int n; };
const DEMO_PROGRAM = 0x1234;
const DEMO_PROTOCOL_VERSION = 2;
enum demo_procedure {
    /**
     * @generate: both
     * @acl: domain:read
     * @priority: high
     * @readstream: 1
     * @custom: yes
     */
    DEMO_PROC_PING = 1,
    /** @generate: none */
    DEMO_PROC_TICK = 2
};
";

#[test]
fn libvirt_procedure_enums_become_programs() {
    let m = model(LIBVIRT_STYLE);
    let p = &m.modules[0].programs[0];
    assert_eq!(p.style, ProgramStyle::Libvirt);
    assert_eq!(
        (p.xdr_name.as_str(), p.rust_name.as_str(), p.number),
        ("DEMO_PROGRAM", "Demo", 0x1234)
    );
    assert_eq!(p.versions[0].number, 2);
    let [ping, tick] = &p.versions[0].procedures[..] else {
        panic!("two procedures")
    };
    assert_eq!(
        (ping.method_name.as_str(), ping.variant_name.as_str()),
        ("ping", "Ping")
    );
    assert!(matches!(&ping.args[..], [Type::Named(r)] if r.xdr_name == "demo_ping_args"));
    assert!(matches!(&ping.result, Some(Type::Named(r)) if r.xdr_name == "demo_ping_ret"));
    assert_eq!(ping.message, None);
    assert_eq!(ping.annotations.generate, Some(Generate::Both));
    assert_eq!(ping.annotations.acl, ["domain:read"]);
    assert!(ping.annotations.high_priority);
    assert_eq!(ping.annotations.readstream, Some(1));
    assert_eq!(
        ping.annotations.other,
        [("custom".to_string(), "yes".to_string())]
    );
    assert!(tick.args.is_empty() && tick.result.is_none());
    assert!(matches!(&tick.message, Some(Type::Named(r)) if r.xdr_name == "demoTickMsg"));
    assert_eq!(tick.annotations.generate, Some(Generate::None));
}

#[test]
fn bad_annotation_values_are_errors() {
    let text = LIBVIRT_STYLE
        .replace("@generate: both", "@generate: maybe")
        .replace("@readstream: 1", "@readstream: x");
    assert_eq!(
        errors(&text),
        [
            "invalid value `maybe` for @generate: expected both, client, server or none",
            "invalid value `x` for @readstream: expected an argument index (a number)"
        ]
    );
}

#[test]
fn anonymous_types_are_hoisted_before_their_user() {
    let (m, diags) = run("struct outer { struct { int a; } inner; enum { X, Y } kind; };");
    let m = m.unwrap_or_else(|| panic!("{diags:#?}"));
    let names: Vec<&str> = m.modules[0]
        .types
        .iter()
        .map(|t| t.xdr_name.as_str())
        .collect();
    assert_eq!(names, ["outer_inner", "outer_kind", "outer"]);
    assert_eq!(m.type_def("outer_inner").unwrap().rust_name, "OuterInner");
}

#[test]
fn docs_carry_comment_and_definition_text() {
    let m = model("/* A point. */\nstruct point { int x; };\n");
    let d = &m.type_def("point").unwrap().docs;
    assert_eq!(d.comment, ["A point."]);
    assert_eq!(d.definition, "struct point { int x; };");
    assert_eq!(m.modules[0].name, "t");
}

#[test]
fn rust_name_collisions_are_errors() {
    assert_eq!(
        errors("struct s { int a_b; int aB; };"),
        ["fields `a_b` and `aB` both become `a_b` in Rust"]
    );
    assert_eq!(
        errors("program P { version V { void GET_A(void) = 1; void GetA(void) = 2; } = 1; } = 1;"),
        [
            "procedures `GET_A` and `GetA` both become `get_a` in Rust",
            "procedures `GET_A` and `GetA` both become `GetA` in Rust"
        ]
    );
    assert_eq!(
        errors("struct foo_bar { int a; }; struct fooBar { int a; };"),
        ["types `foo_bar` and `fooBar` both become `FooBar` in Rust"]
    );
}

#[test]
fn every_error_of_a_file_is_reported_in_one_run() {
    let errs = errors("struct a { nope x; int y[NOPE]; quadruple q; };\nconst a = 1;");
    assert_eq!(
        errs,
        [
            "duplicate definition of `a`",
            "undefined type `nope`",
            "undefined constant `NOPE`",
            "quadruple (128-bit float) has no Rust type"
        ]
    );
}

#[test]
fn long_enums_and_deep_constant_chains_stay_cheap() {
    let members: Vec<String> = (0..50_000).map(|i| format!("M{i}")).collect();
    let m = model(&format!("enum big {{ {} }};", members.join(", ")));
    let TypeKind::Enum(e) = &m.type_def("big").unwrap().kind else {
        panic!()
    };
    assert_eq!(e.members[49_999].value, 49_999);
    // A chain deeper than the limit is an error, not a stack overflow.
    let chain: String = (0..300)
        .map(|i| format!("const C{i} = C{};\n", i + 1))
        .collect();
    let errs = errors(&format!("{chain}const C300 = 1;"));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("more than 200 deep"), "{errs:?}");
}

#[test]
fn fixed_arrays_too_large_for_rust_are_errors_naming_the_field() {
    // rpcgen accepts these, but `[u8; 4294967295]` is a 4 GiB value (rustc rejects it on 32-bit
    // targets and it overflows any stack).
    assert_eq!(
        errors(
            "typedef opaque huge[4294967295];
             struct s { int ok[16384]; int a[16385]; };
             union u switch (int d) { case 0: hyper h[0x80000000]; default: void; };"
        ),
        [
            "fixed-size `huge` would be 4294967295 bytes in Rust, over the 64 KiB limit; \
             use a variable-length `<>` declaration for data this large",
            "fixed-size `s.a` would be 65540 bytes in Rust, over the 64 KiB limit; \
             use a variable-length `<>` declaration for data this large",
            "fixed-size `u.h` would be 17179869184 bytes in Rust, over the 64 KiB limit; \
             use a variable-length `<>` declaration for data this large",
        ]
    );
    // Sizes multiply through named types, and each oversized array is reported once, where it
    // is declared: `big` itself is within the limit; `pair.two` is not; `holder.p` points at a
    // `pair`, whose error is reported at `pair`.
    assert_eq!(
        errors(
            "typedef opaque big[65536];
             struct pair { big two[2]; };
             struct holder { pair *p; big b; };"
        ),
        [
            "fixed-size `pair.two` would be 131072 bytes in Rust, over the 64 KiB limit; \
          use a variable-length `<>` declaration for data this large"
        ]
    );
    // Fields each within the limit can still add up to a value over it: reported once, at
    // the type whose fields add up, not at the types that contain it.
    assert_eq!(
        errors(
            "typedef opaque big[65536];
             struct l0 { big x; big y; };
             struct l1 { l0 x; l0 y; };
             union u switch (int d) { case 1: l1 a; default: void; };"
        ),
        [
            "struct `l0` would be 131072 bytes in Rust, over the 64 KiB limit; \
          use a variable-length `<>` declaration for data this large"
        ]
    );
    // Variable-length data and boxed recursion live on the heap: these are small.
    model(
        "struct node { opaque data[60000]; node *next; };
         struct many { node list; many *more; opaque blob<>; };",
    );
}

#[test]
fn a_case_named_default_gives_way_to_the_default_arm() {
    // `E_DEFAULT` becomes the variant `Default`, which the `default:` arm's variant also uses.
    let cases = |text: &str| -> Vec<String> {
        let m = model(text);
        let TypeKind::Union(u) = &m.type_def("u").expect("u").kind else {
            panic!("not a union")
        };
        u.cases.iter().map(|c| c.rust_name.clone()).collect()
    };
    assert_eq!(
        cases(
            "enum e { E_DEFAULT, E_OTHER, E_THIRD };\n\
             union u switch (e d) { case E_DEFAULT: int x; case E_OTHER: void; default: void; };"
        ),
        ["Default_", "Other"]
    );
    assert_eq!(
        cases("union u switch (int d) { case 1: int default_; default: void; };"),
        ["Default_"]
    );
    // Without a default arm the name is free.
    assert_eq!(
        cases("enum e { E_DEFAULT, E_OTHER };\nunion u switch (e d) { case E_DEFAULT: int x; case E_OTHER: void; };"),
        ["Default", "Other"]
    );
}

#[test]
fn fixed_arrays_of_extern_types_count_each_element() {
    // The Rust size of an extern type is unknown; each element counts as at least one byte, so
    // a count beyond 64 Ki elements is refused whatever the type.
    let mut options = Options::default();
    options
        .extern_types
        .insert("cstuff".into(), "crate::CStuff".into());
    let (m, diags) = run_files(
        &[("t.x", "struct s { cstuff ok[65536]; cstuff a[65537]; };")],
        &options,
    );
    assert!(m.is_none());
    let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "fixed-size `s.a` would be 65537 bytes in Rust, over the 64 KiB limit; \
          use a variable-length `<>` declaration for data this large"
        ]
    );
}

#[test]
fn a_user_constant_that_a_file_defines_is_a_warning() {
    let mut options = Options::default();
    options.constants.insert("MAXN".into(), 4);
    let (m, diags) = run_files(
        &[("t.x", "const MAXN = 8;\nstruct s { int a[MAXN]; };")],
        &options,
    );
    let warnings: Vec<(Severity, &str)> = diags
        .iter()
        .map(|d| (d.severity, d.message.as_str()))
        .collect();
    assert_eq!(
        warnings,
        [(
            Severity::Warning,
            "`MAXN` is defined here and also given as a constant option; this definition wins"
        )]
    );
    let m = m.expect("a warning is not an error");
    assert_eq!(m.modules[0].consts[0].value, 8);
}
