//! Our own fixtures (`tests/fixtures/parse/`): every construct the parser accepts, checked on
//! the AST it builds; `#include` handling; spans.

use std::path::{Path, PathBuf};

use xdrgen::ast::*;
use xdrgen::diagnostic::{Diagnostics, Severity};
use xdrgen::parse::{parse_files, parse_source, ParsedFile};
use xdrgen::source::SourceMap;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parse")
        .join(name)
}

fn parse_fixture(name: &str) -> (Vec<ParsedFile>, SourceMap, Diagnostics) {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let parsed = parse_files(&[fixture(name)], &mut sources, &mut diags);
    assert!(!diags.has_errors(), "{}", diags.render(&sources));
    (parsed, sources, diags)
}

fn defs(file: &ParsedFile) -> Vec<&Definition> {
    file.ast
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Definition(d) => Some(d),
            Item::PassThrough { .. } => None,
        })
        .collect()
}

fn def_name(d: &Definition) -> String {
    match &d.kind {
        DefinitionKind::Const { name, .. }
        | DefinitionKind::PassConst { name, .. }
        | DefinitionKind::StringConst { name, .. }
        | DefinitionKind::Enum { name, .. }
        | DefinitionKind::Struct { name, .. }
        | DefinitionKind::Union { name, .. } => name.name.clone(),
        DefinitionKind::Typedef(Declaration::Named { name, .. }) => name.name.clone(),
        DefinitionKind::Typedef(Declaration::Void { .. }) => "void".to_string(),
        DefinitionKind::Program(p) => p.name.name.clone(),
    }
}

fn find<'a>(file: &'a ParsedFile, name: &str) -> &'a Definition {
    defs(file)
        .into_iter()
        .find(|d| def_name(d) == name)
        .unwrap_or_else(|| panic!("no definition `{name}`"))
}

fn literal(v: &Value) -> i128 {
    match v {
        Value::Literal { value, .. } => *value,
        Value::Named(n) => panic!("expected a literal, found name {}", n.name),
    }
}

fn named(v: &Value) -> &str {
    match v {
        Value::Named(n) => &n.name,
        Value::Literal { value, .. } => panic!("expected a name, found {value}"),
    }
}

fn const_value<'a>(file: &'a ParsedFile, name: &str) -> &'a Value {
    match &find(file, name).kind {
        DefinitionKind::Const { value, .. } => value,
        other => panic!("`{name}` is not a const: {other:?}"),
    }
}

fn struct_fields<'a>(file: &'a ParsedFile, wanted: &str) -> &'a [Field] {
    defs(file)
        .into_iter()
        .find_map(|d| match &d.kind {
            DefinitionKind::Struct { name, body } if name.name == wanted => Some(&body.fields[..]),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no struct `{wanted}`"))
}

fn field<'a>(fields: &'a [Field], name: &str) -> &'a Field {
    fields
        .iter()
        .find(|f| matches!(&f.decl, Declaration::Named { name: n, .. } if n.name == name))
        .unwrap_or_else(|| panic!("no field `{name}`"))
}

fn decl_type(f: &Field) -> &DeclType {
    match &f.decl {
        Declaration::Named { ty, .. } => ty,
        Declaration::Void { .. } => panic!("void field"),
    }
}

fn builtin_of(f: &Field) -> Builtin {
    match decl_type(f) {
        DeclType::Plain(TypeSpec::Builtin { ty, .. }) => *ty,
        other => panic!("not a plain builtin: {other:?}"),
    }
}

#[test]
fn every_construct_top_level_order_and_kinds() {
    let (parsed, _, diags) = parse_fixture("every_construct.x");
    assert_eq!(parsed.len(), 1);
    let file = &parsed[0];
    let outline: Vec<String> = file
        .ast
        .items
        .iter()
        .map(|i| match i {
            Item::PassThrough { text, .. } => format!("%{text}"),
            Item::Definition(d) => def_name(d),
        })
        .collect();
    assert_eq!(
        outline,
        [
            "%#include <stdio.h>",
            "BUFSIZE",
            "DEPTH",
            // `%#define ONLY_IN_C 1` under `#ifdef RPC_HDR`: C's header has it.
            "ONLY_IN_C",
            "FLAG_ON",
            "ELIF_TAKEN",
            "DEC",
            "HEX",
            "OCT",
            "NEG",
            "ALIAS",
            "colour",
            "fixed_bytes",
            "var_bytes",
            "bounded_bytes",
            "name",
            "short_name",
            "int_list",
            "node_ptr",
            "node",
            "node",
            "result",
            "DEMO_PROG",
        ]
    );
    // The function-like macro is the only thing warned about.
    let warnings: Vec<_> = diags
        .iter()
        .map(|d| (d.severity, d.message.clone()))
        .collect();
    assert_eq!(
        warnings,
        [(
            Severity::Warning,
            "function-like macro `TWICE` ignored".to_string()
        )]
    );
}

#[test]
fn literals_defines_and_constant_names() {
    let (parsed, _, _) = parse_fixture("every_construct.x");
    let f = &parsed[0];
    assert_eq!(literal(const_value(f, "DEC")), 42);
    assert_eq!(literal(const_value(f, "HEX")), 0x8753_9319);
    assert_eq!(literal(const_value(f, "OCT")), 0o755);
    assert_eq!(literal(const_value(f, "NEG")), -17);
    assert_eq!(named(const_value(f, "ALIAS")), "DEC");
    assert_eq!(literal(const_value(f, "BUFSIZE")), 32);
    assert_eq!(named(const_value(f, "DEPTH")), "BUFSIZE");
    // Docs: a leading comment, a trailing one, and the licence-like header attached to nothing.
    assert_eq!(find(f, "DEC").doc.lines, ["Decimal."]);
    assert_eq!(find(f, "HEX").doc.lines, ["above i32::MAX"]);
    assert!(find(f, "BUFSIZE").doc.is_empty());
}

#[test]
fn enum_members_values_and_docs() {
    let (parsed, _, _) = parse_fixture("every_construct.x");
    let f = &parsed[0];
    let DefinitionKind::Enum { body, .. } = &find(f, "colour").kind else {
        panic!("colour is not an enum");
    };
    assert_eq!(find(f, "colour").doc.lines, ["Colours, some numbered."]);
    let names: Vec<_> = body.members.iter().map(|m| m.name.name.as_str()).collect();
    assert_eq!(names, ["RED", "GREEN", "BLUE"]);
    assert!(body.members[0].value.is_none());
    assert_eq!(body.members[0].doc.lines, ["0"]);
    assert_eq!(literal(body.members[1].value.as_ref().unwrap()), 5);
    let green = &body.members[1].doc;
    assert_eq!(
        green.lines,
        ["@generate: both", "@acl: domain:write:FLAG_X"]
    );
    let ann: Vec<_> = green
        .annotations
        .iter()
        .map(|a| (a.key.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(ann, [("generate", "both"), ("acl", "domain:write:FLAG_X")]);
    assert_eq!(named(body.members[2].value.as_ref().unwrap()), "OCT");
    assert!(body.members[2].doc.is_empty());
}

#[test]
fn typedef_shapes() {
    let (parsed, _, _) = parse_fixture("every_construct.x");
    let f = &parsed[0];
    let ty = |name: &str| match &find(f, name).kind {
        DefinitionKind::Typedef(Declaration::Named { ty, .. }) => ty.clone(),
        other => panic!("{name}: {other:?}"),
    };
    assert!(
        matches!(ty("fixed_bytes"), DeclType::FixedOpaque(Value::Named(n)) if n.name == "BUFSIZE")
    );
    assert!(matches!(ty("var_bytes"), DeclType::VarOpaque(None)));
    assert!(matches!(
        ty("bounded_bytes"),
        DeclType::VarOpaque(Some(Value::Literal { value: 16, .. }))
    ));
    assert!(matches!(ty("name"), DeclType::String(None)));
    assert!(matches!(ty("short_name"), DeclType::String(Some(Value::Named(n))) if n.name == "DEC"));
    assert!(matches!(
        ty("int_list"),
        DeclType::VarArray(
            TypeSpec::Builtin {
                ty: Builtin::Int,
                ..
            },
            None
        )
    ));
    assert!(matches!(ty("node_ptr"), DeclType::Optional(TypeSpec::Named(n)) if n.name == "node"));
    // `typedef struct node node;` is an alias of the named struct.
    let aliases: Vec<_> = defs(f)
        .into_iter()
        .filter(|d| def_name(d) == "node")
        .map(|d| matches!(&d.kind, DefinitionKind::Typedef(Declaration::Named { ty: DeclType::Plain(TypeSpec::Named(n)), .. }) if n.name == "node"))
        .collect();
    assert_eq!(aliases, [true, false]);
}

#[test]
fn struct_fields_builtins_and_nested_types() {
    let (parsed, _, _) = parse_fixture("every_construct.x");
    let f = &parsed[0];
    let node = defs(f)
        .into_iter()
        .find(|d| matches!(d.kind, DefinitionKind::Struct { .. }))
        .unwrap();
    // The comment after `{` on the same line belongs to the struct.
    assert_eq!(node.doc.lines, ["insert@1"]);
    let fields = struct_fields(f, "node");
    assert_eq!(fields.len(), 22);
    assert_eq!(field(fields, "value").doc.lines, ["the payload"]);
    assert_eq!(field(fields, "next").doc.lines, ["Next in the list."]);
    assert!(
        matches!(decl_type(field(fields, "next")), DeclType::Optional(TypeSpec::Named(n)) if n.name == "node")
    );
    let expected = [
        ("u", Builtin::UnsignedInt),
        ("ui", Builtin::UnsignedInt),
        ("ul", Builtin::UnsignedInt),
        ("l", Builtin::Int),
        ("c", Builtin::Char),
        ("uc", Builtin::UnsignedChar),
        ("s", Builtin::Short),
        ("us", Builtin::UnsignedShort),
        ("h", Builtin::Hyper),
        ("uh", Builtin::UnsignedHyper),
        ("f", Builtin::Float),
        ("d", Builtin::Double),
        ("q", Builtin::Quadruple),
        ("b", Builtin::Bool),
    ];
    for (name, builtin) in expected {
        assert_eq!(builtin_of(field(fields, name)), builtin, "field {name}");
    }
    assert!(
        matches!(decl_type(field(fields, "col")), DeclType::Plain(TypeSpec::Named(n)) if n.name == "colour")
    );
    assert!(
        matches!(decl_type(field(fields, "col2")), DeclType::Plain(TypeSpec::Named(n)) if n.name == "colour")
    );
    assert!(matches!(
        decl_type(field(fields, "fixed")),
        DeclType::FixedArray(
            TypeSpec::Builtin {
                ty: Builtin::Int,
                ..
            },
            Value::Literal { value: 3, .. }
        )
    ));
    assert!(
        matches!(decl_type(field(fields, "more")), DeclType::VarArray(TypeSpec::Named(t), Some(Value::Named(n))) if t.name == "node_ptr" && n.name == "DEPTH")
    );

    let DeclType::Plain(TypeSpec::Struct(nested, _)) = decl_type(field(fields, "nested")) else {
        panic!("nested is not an anonymous struct");
    };
    assert_eq!(nested.fields.len(), 2);
    let DeclType::Plain(TypeSpec::Union(u, _)) = decl_type(field(&nested.fields, "inner_u")) else {
        panic!("inner_u is not an anonymous union");
    };
    assert_eq!(u.arms.len(), 2);
    assert!(matches!(u.arms[1].field.decl, Declaration::Void { .. }));
    assert!(u.default.is_none());

    let DeclType::Plain(TypeSpec::Enum(e, _)) = decl_type(field(fields, "anon_enum")) else {
        panic!("anon_enum is not an anonymous enum");
    };
    let members: Vec<_> = e
        .members
        .iter()
        .map(|m| (m.name.name.as_str(), m.value.as_ref().map(literal)))
        .collect();
    assert_eq!(members, [("ONE", Some(1)), ("TWO", None)]);
}

#[test]
fn union_arms_with_shared_labels_and_default() {
    let (parsed, _, _) = parse_fixture("every_construct.x");
    let f = &parsed[0];
    let d = find(f, "result");
    assert_eq!(
        d.doc.lines,
        ["A line comment (rpcgen rejects these; xdrgen accepts them)."]
    );
    let DefinitionKind::Union { body, .. } = &d.kind else {
        panic!("result is not a union");
    };
    assert!(
        matches!(&body.discriminant, Declaration::Named { name, ty: DeclType::Plain(TypeSpec::Named(t)), .. } if name.name == "kind" && t.name == "colour")
    );
    let labels: Vec<Vec<&str>> = body
        .arms
        .iter()
        .map(|a| a.labels.iter().map(named).collect())
        .collect();
    assert_eq!(labels, [vec!["RED", "GREEN"], vec!["BLUE"]]);
    assert!(matches!(
        decl_type(&body.arms[1].field),
        DeclType::String(None)
    ));
    assert!(matches!(
        body.default.as_deref(),
        Some(Field {
            decl: Declaration::Void { .. },
            ..
        })
    ));
}

#[test]
fn program_versions_and_procedures() {
    let (parsed, _, _) = parse_fixture("every_construct.x");
    let f = &parsed[0];
    let DefinitionKind::Program(p) = &find(f, "DEMO_PROG").kind else {
        panic!("DEMO_PROG is not a program");
    };
    assert_eq!(literal(&p.number), 0x2000_0099);
    assert_eq!(p.versions.len(), 1);
    let v = &p.versions[0];
    assert_eq!(v.name.name, "DEMO_V1");
    assert_eq!(literal(&v.number), 1);
    assert_eq!(v.doc.lines, ["The first version."]);
    let procs: Vec<_> = v
        .procedures
        .iter()
        .map(|pr| {
            (
                pr.name.name.as_str(),
                pr.result.is_some(),
                pr.args.len(),
                literal(&pr.number),
            )
        })
        .collect();
    assert_eq!(
        procs,
        [
            ("DEMO_NULL", false, 0, 0),
            ("DEMO_GET", true, 2, 1),
            ("DEMO_COUNT", true, 1, 2)
        ]
    );
    assert_eq!(v.procedures[1].doc.annotations[0].key, "generate");
    assert!(
        matches!(&v.procedures[2].args[0], DeclType::Plain(TypeSpec::Named(n)) if n.name == "node")
    );
}

#[test]
fn field_span_maps_to_line_and_column() {
    let (parsed, sources, _) = parse_fixture("every_construct.x");
    let f = &parsed[0];
    let fields = struct_fields(f, "node");
    let Declaration::Named { name, span, .. } = &field(fields, "ui").decl else {
        panic!("ui is void");
    };
    let file = sources.file(span.file);
    // `    unsigned int ui;` is line 64 of the fixture.
    assert_eq!(file.line_col(span.start as usize), (64, 5));
    assert_eq!(file.line_col(name.span.start as usize), (64, 18));
    assert_eq!(
        &file.text[name.span.start as usize..name.span.end as usize],
        "ui"
    );
    assert!(sources.location(*span).ends_with("every_construct.x:64:5"));
}

#[test]
fn includes_are_followed_once_and_come_first() {
    let (parsed, sources, _) = parse_fixture("includer.x");
    let names: Vec<_> = parsed
        .iter()
        .map(|p| {
            sources
                .file(p.id)
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["included.x", "includer.x"]);
    assert_eq!(def_name(defs(&parsed[0])[0]), "inc_t");
    assert_eq!(def_name(defs(&parsed[1])[0]), "uses_inc");
}

#[test]
fn a_file_named_twice_is_parsed_once() {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let inc = fixture("included.x");
    let parsed = parse_files(&[inc.clone(), inc], &mut sources, &mut diags);
    assert_eq!(parsed.len(), 1);
}

#[test]
fn parse_source_needs_no_file() {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let parsed = parse_source(&mut sources, "mem.x", "const A = 1;\n", &mut diags).unwrap();
    assert_eq!(def_name(defs(&parsed)[0]), "A");
    assert!(diags.iter().next().is_none());
}
