//! Corners of rpcgen's dialect and of the preprocessor pass, on small inline inputs.

use xdrgen::ast::*;
use xdrgen::diagnostic::Diagnostics;
use xdrgen::parse::{parse_source, ParsedFile};
use xdrgen::source::SourceMap;

fn parse_ok(text: &str) -> ParsedFile {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let parsed = parse_source(&mut sources, "t.x", text, &mut diags);
    assert!(!diags.has_errors(), "{}", diags.render(&sources));
    parsed.expect("no errors, so a file")
}

/// Top-level items as short strings: `%text` or the defined name.
fn outline(file: &ParsedFile) -> Vec<String> {
    file.ast
        .items
        .iter()
        .map(|i| match i {
            Item::PassThrough { text, .. } => format!("%{text}"),
            Item::Definition(d) => match &d.kind {
                DefinitionKind::Const { name, .. }
                | DefinitionKind::StringConst { name, .. }
                | DefinitionKind::Enum { name, .. }
                | DefinitionKind::Struct { name, .. }
                | DefinitionKind::Union { name, .. } => name.name.clone(),
                DefinitionKind::Typedef(Declaration::Named { name, .. }) => name.name.clone(),
                DefinitionKind::Typedef(Declaration::Void { .. }) => "void".into(),
                DefinitionKind::Program(p) => p.name.name.clone(),
                DefinitionKind::PassConst { name, .. } => format!("%#define {}", name.name),
            },
        })
        .collect()
}

#[test]
fn a_pass_through_backslash_does_not_continue_into_xdr_text() {
    // rpcgen copies `%` lines one by one: the next line is read as `.x` text.
    let f = parse_ok("%#define A \\\nconst B = 1;\n");
    assert_eq!(outline(&f), ["%#define A \\", "B"]);
}

#[test]
fn pass_through_lines_inside_bodies_are_dropped() {
    let f = parse_ok("%top\nstruct s {\n%inside\n    int a;\n};\n%bottom\n");
    assert_eq!(outline(&f), ["%top", "s", "%bottom"]);
}

#[test]
fn directive_lines_continue_with_backslash() {
    let f = parse_ok("#define BIG \\\n    0x10\nconst A = BIG;\n");
    let DefinitionKind::Const { value, .. } = &match &f.ast.items[0] {
        Item::Definition(d) => d,
        other => panic!("{other:?}"),
    }
    .kind
    else {
        panic!("not a const");
    };
    assert!(matches!(value, Value::Literal { value: 16, .. }));
    assert_eq!(outline(&f), ["BIG", "A"]);
}

#[test]
fn a_hash_inside_a_comment_is_not_a_directive() {
    let f = parse_ok("#if 0\n/*\n#endif\n*/\nconst HIDDEN = 1;\n#endif\nconst SHOWN = 2;\n");
    assert_eq!(outline(&f), ["SHOWN"]);
}

#[test]
fn conditionals_nest_and_chain() {
    let text = "#define V 2\n\
                #if V == 1\nconst ONE = 1;\n\
                #elif V == 2\n#ifdef MISSING\nconst NO = 0;\n#else\nconst TWO = 2;\n#endif\n\
                #else\nconst OTHER = 3;\n#endif\n\
                #ifndef V\nconst NOT_V = 4;\n#endif\n\
                #undef V\n#ifndef V\nconst UNDEFINED = 5;\n#endif\n";
    assert_eq!(outline(&parse_ok(text)), ["V", "TWO", "UNDEFINED"]);
}

#[test]
fn skipped_regions_may_hold_anything() {
    let f = parse_ok("#ifdef RPC_HDR\n%#define X (1 + \\\n  2)\nnot xdr at all {{{\n#pragma whatever\n#endif\nconst A = 1;\n");
    assert_eq!(outline(&f), ["A"]);
}

#[test]
fn crlf_line_endings() {
    let f = parse_ok("/* doc */\r\nstruct s {\r\n    int a; /* trailing */\r\n};\r\n");
    let Item::Definition(d) = &f.ast.items[0] else {
        panic!("not a definition")
    };
    assert_eq!(d.doc.lines, ["doc"]);
    let DefinitionKind::Struct { body, .. } = &d.kind else {
        panic!("not a struct")
    };
    assert_eq!(body.fields[0].doc.lines, ["trailing"]);
}

#[test]
fn enum_trailing_comma_and_member_docs() {
    let f = parse_ok("enum e {\n    A, /* first */\n    /* second */\n    B = 0x10,\n};\n");
    let Item::Definition(Definition {
        kind: DefinitionKind::Enum { body, .. },
        ..
    }) = &f.ast.items[0]
    else {
        panic!("not an enum")
    };
    assert_eq!(body.members[0].doc.lines, ["first"]);
    assert_eq!(body.members[1].doc.lines, ["second"]);
}

#[test]
fn multi_line_doc_keeps_inner_lines() {
    let f = parse_ok("/* Maximum length.\n * Note: more text.\n */\nconst A = 1;\n");
    let Item::Definition(d) = &f.ast.items[0] else {
        panic!("not a definition")
    };
    assert_eq!(d.doc.lines, ["Maximum length.", "Note: more text."]);
    assert!(d.doc.annotations.is_empty());
}

#[test]
fn rpcgen_type_names_and_unsigned_alone() {
    let f = parse_ok(
        "struct s {\n    unsigned a;\n    u_int b;\n    struct s *next;\n    union u w;\n};\n\
         program P {\n    version V {\n        unsigned PROC(unsigned, struct s) = 1;\n    } = 1;\n} = 100;\n",
    );
    assert_eq!(outline(&f), ["s", "P"]);
    let Item::Definition(Definition {
        kind: DefinitionKind::Program(p),
        ..
    }) = &f.ast.items[1]
    else {
        panic!("not a program")
    };
    let proc_ = &p.versions[0].procedures[0];
    assert!(matches!(
        proc_.result,
        Some(DeclType::Plain(TypeSpec::Builtin {
            ty: Builtin::UnsignedInt,
            ..
        }))
    ));
    assert!(matches!(&proc_.args[1], DeclType::Plain(TypeSpec::Named(n)) if n.name == "s"));
}

#[test]
fn c_style_int_spellings() {
    let f = parse_ok(
        "struct s {\n    short int a;\n    long int b;\n    hyper int c;\n    unsigned short int d;\n    \
         unsigned long int e;\n    unsigned hyper int f;\n};\n",
    );
    let Item::Definition(Definition {
        kind: DefinitionKind::Struct { body, .. },
        ..
    }) = &f.ast.items[0]
    else {
        panic!("not a struct")
    };
    let tys: Vec<_> = body
        .fields
        .iter()
        .map(|f| match &f.decl {
            Declaration::Named {
                ty: DeclType::Plain(TypeSpec::Builtin { ty, .. }),
                ..
            } => *ty,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        tys,
        [
            Builtin::Short,
            Builtin::Int,
            Builtin::Hyper,
            Builtin::UnsignedShort,
            Builtin::UnsignedInt,
            Builtin::UnsignedHyper
        ]
    );
}

#[test]
fn procedure_argument_names_and_empty_parentheses() {
    let f = parse_ok("program P {\n    version V {\n        int ADD(int a, int b) = 1;\n        void PING() = 2;\n    } = 1;\n} = 100;\n");
    let Item::Definition(Definition {
        kind: DefinitionKind::Program(p),
        ..
    }) = &f.ast.items[0]
    else {
        panic!("not a program")
    };
    let procs = &p.versions[0].procedures;
    assert_eq!(procs[0].args.len(), 2);
    assert!(procs[1].args.is_empty());
    assert!(procs[1].result.is_none());
}

#[test]
fn string_results_and_arguments_as_rpcgen_takes_them() {
    // rpcgen's tutorial example, and a bounded form.
    let f = parse_ok(
        "program MESSAGEPROG {\n    version PRINTMESSAGEVERS {\n        int PRINTMESSAGE(string) = 1;\n        string ECHO(string<10>) = 2;\n    } = 1;\n} = 0x20000001;\n",
    );
    let Item::Definition(Definition {
        kind: DefinitionKind::Program(p),
        ..
    }) = &f.ast.items[0]
    else {
        panic!("not a program")
    };
    let [print, echo] = &p.versions[0].procedures[..] else {
        panic!("two procedures")
    };
    assert_eq!(print.args, [DeclType::String(None)]);
    assert!(matches!(
        print.result,
        Some(DeclType::Plain(TypeSpec::Builtin {
            ty: Builtin::Int,
            ..
        }))
    ));
    assert_eq!(echo.result, Some(DeclType::String(None)));
    assert!(matches!(
        &echo.args[..],
        [DeclType::String(Some(Value::Literal { value: 10, .. }))]
    ));
}

#[test]
fn define_of_a_builtin_type_is_a_typedef() {
    // cpp would substitute the type wherever the name is used.
    let f = parse_ok(
        "#define MYTYPE unsigned int\n#define SMALL short\nstruct s { MYTYPE a; SMALL b; };\n",
    );
    let typedefs: Vec<(String, Builtin)> = f
        .ast
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Definition(Definition {
                kind:
                    DefinitionKind::Typedef(Declaration::Named {
                        name,
                        ty: DeclType::Plain(TypeSpec::Builtin { ty, .. }),
                        ..
                    }),
                ..
            }) => Some((name.name.clone(), *ty)),
            _ => None,
        })
        .collect();
    assert_eq!(
        typedefs,
        [
            ("MYTYPE".to_string(), Builtin::UnsignedInt),
            ("SMALL".to_string(), Builtin::Short)
        ]
    );
}
