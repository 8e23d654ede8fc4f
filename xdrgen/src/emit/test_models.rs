//! Hand-made models covering every construct the emitter handles, standing in for the front end
//! in emitter tests. Names are written already converted, as the checker would produce them.

use std::path::PathBuf;

use crate::model::*;

/// A `Size` written with a constant.
pub fn sized(value: u32, name: &str) -> Size {
    Size {
        value,
        name: Some(name.to_string()),
    }
}

/// A `Size` written as a number.
pub fn lit(value: u32) -> Size {
    Size { value, name: None }
}

/// A reference to a type in a module.
pub fn named(module: &str, xdr: &str, rust: &str) -> Type {
    Type::Named(TypeRef {
        xdr_name: xdr.to_string(),
        rust_name: rust.to_string(),
        module: module.to_string(),
    })
}

fn docs(comment: &[&str], definition: &str) -> Docs {
    Docs {
        comment: comment.iter().map(|s| s.to_string()).collect(),
        definition: definition.to_string(),
    }
}

/// A field without docs.
pub fn field(xdr: &str, rust: &str, ty: Type) -> Field {
    Field {
        xdr_name: xdr.to_string(),
        rust_name: rust.to_string(),
        ty,
        docs: Docs::default(),
    }
}

/// A struct type definition.
pub fn struct_def(xdr: &str, fields: Vec<Field>) -> TypeDef {
    def(xdr, &crate::naming::type_name(xdr), structure(fields))
}

fn def(xdr: &str, rust: &str, kind: TypeKind) -> TypeDef {
    TypeDef {
        xdr_name: xdr.to_string(),
        rust_name: rust.to_string(),
        docs: Docs::default(),
        kind,
        recursive: false,
    }
}

fn constant(xdr: &str, value: i128) -> Const {
    Const {
        xdr_name: xdr.to_string(),
        rust_name: xdr.to_string(),
        value,
        docs: Docs::default(),
    }
}

fn member(xdr: &str, rust: &str, value: i32) -> EnumMember {
    EnumMember {
        xdr_name: xdr.to_string(),
        rust_name: rust.to_string(),
        value,
        docs: Docs::default(),
    }
}

fn case(value: i128, label: Option<&str>, rust: &str, field: Option<Field>) -> UnionCase {
    UnionCase {
        value,
        label: label.map(str::to_string),
        rust_name: rust.to_string(),
        field,
        docs: Docs::default(),
    }
}

fn optional(inner: Type, boxed: bool) -> Type {
    Type::Optional {
        inner: Box::new(inner),
        boxed,
    }
}

fn structure(fields: Vec<Field>) -> TypeKind {
    TypeKind::Struct(Struct { fields })
}

fn d(rust: &str, xdr: &str) -> Type {
    named("demo", xdr, rust)
}

/// Module `demo`: constants, an enum with a duplicate value, every scalar and composite shape,
/// typedefs, unions of each discriminant kind, and recursive types.
pub fn demo_module() -> Module {
    let mut color = def(
        "color",
        "Color",
        TypeKind::Enum(Enum {
            members: vec![
                EnumMember {
                    docs: docs(&["The colour of <b>grass</b> [sic]."], ""),
                    ..member("COLOR_RED", "Red", 0)
                },
                member("COLOR_GREEN", "Green", 1),
                member("COLOR_BLUE", "Blue", -2),
                member("COLOR_VERT", "Vert", 1),
            ],
        }),
    );
    color.docs = docs(
        &["Colours.", "", "    indented: would be a doctest", "```", "see http://example.org."],
        "enum color {\n    COLOR_RED = 0,\n    COLOR_GREEN = 1,\n    COLOR_BLUE = -2,\n    COLOR_VERT = 1\n};",
    );
    let uuid = def(
        "uuid",
        "Uuid",
        TypeKind::Alias(Type::FixedOpaque(sized(16, "UUID_LEN"))),
    );
    let name = def(
        "name",
        "Name",
        TypeKind::Alias(Type::String(Some(sized(64, "NAME_MAX")))),
    );
    let scalars = def(
        "scalars",
        "Scalars",
        structure(vec![
            field("i", "i", Type::Int),
            field("u", "u", Type::UnsignedInt),
            field("h", "h", Type::Hyper),
            field("uh", "uh", Type::UnsignedHyper),
            field("b", "b", Type::Bool),
            field("c", "c", Type::Char),
            field("uc", "uc", Type::UnsignedChar),
            field("s", "s", Type::Short),
            field("us", "us", Type::UnsignedShort),
            field("col", "col", d("Color", "color")),
        ]),
    );
    let mut composite = def(
        "composite",
        "Composite",
        structure(vec![
            Field {
                docs: docs(&["The object's UUID."], ""),
                ..field("id", "id", d("Uuid", "uuid"))
            },
            field("raw", "raw", Type::FixedOpaque(lit(5))),
            field("blob", "blob", Type::VarOpaque(Some(lit(100)))),
            field("any_blob", "any_blob", Type::VarOpaque(None)),
            field("label", "label", d("Name", "name")),
            field("text", "text", Type::String(None)),
            field("type", "r#type", Type::String(Some(sized(64, "NAME_MAX")))),
            field(
                "grid",
                "grid",
                Type::FixedArray(Box::new(Type::Int), lit(3)),
            ),
            field(
                "names",
                "names",
                Type::FixedArray(Box::new(d("Name", "name")), lit(2)),
            ),
            field(
                "ids",
                "ids",
                Type::VarArray(Box::new(d("Uuid", "uuid")), Some(lit(8))),
            ),
            field(
                "colors",
                "colors",
                Type::VarArray(Box::new(d("Color", "color")), None),
            ),
            field(
                "labels",
                "labels",
                Type::VarArray(
                    Box::new(Type::String(Some(lit(10)))),
                    Some(sized(64, "NAME_MAX")),
                ),
            ),
            field("maybe", "maybe", optional(Type::UnsignedHyper, false)),
            field(
                "scalars",
                "scalars",
                optional(d("Scalars", "scalars"), false),
            ),
            field(
                "clock",
                "clock",
                Type::Extern {
                    xdr_name: "clock_t".into(),
                    rust_path: "crate::Clock".into(),
                },
            ),
        ]),
    );
    composite.docs = docs(&[], "struct composite { ... };");
    let measure = def(
        "measure",
        "Measure",
        structure(vec![
            field("f", "f", Type::Float),
            field("dbl", "dbl", Type::Double),
        ]),
    );
    let value = def(
        "value",
        "Value",
        TypeKind::Union(Union {
            discriminant_name: "kind".into(),
            discriminant: Type::Int,
            cases: vec![
                case(1, Some("KIND_INT"), "Int", Some(field("i", "i", Type::Int))),
                case(
                    2,
                    Some("KIND_NAME"),
                    "Name",
                    Some(field("n", "n", d("Name", "name"))),
                ),
                case(3, None, "Other", Some(field("n", "n", d("Name", "name")))),
                case(-1, None, "Nothing", None),
            ],
            default: Some(Some(field("blob", "blob", Type::VarOpaque(Some(lit(4)))))),
        }),
    );
    let paint = def(
        "paint",
        "Paint",
        TypeKind::Union(Union {
            discriminant_name: "c".into(),
            discriminant: d("Color", "color"),
            cases: vec![
                case(
                    0,
                    Some("COLOR_RED"),
                    "Red",
                    Some(field("m", "m", d("Measure", "measure"))),
                ),
                case(1, Some("COLOR_GREEN"), "Green", None),
                case(
                    -2,
                    Some("COLOR_BLUE"),
                    "Blue",
                    Some(field("x", "x", Type::Int)),
                ),
            ],
            default: None,
        }),
    );
    let partial = def(
        "partial",
        "Partial",
        TypeKind::Union(Union {
            discriminant_name: "c".into(),
            discriminant: d("Color", "color"),
            cases: vec![case(0, Some("COLOR_RED"), "Red", None)],
            default: Some(None),
        }),
    );
    // Every member has a case and there is a default anyway (C allows it): the default arm
    // can never be encoded.
    let total = def(
        "total",
        "Total",
        TypeKind::Union(Union {
            discriminant_name: "c".into(),
            discriminant: d("Color", "color"),
            cases: vec![
                case(0, Some("COLOR_RED"), "Red", None),
                case(1, Some("COLOR_GREEN"), "Green", None),
                case(-2, Some("COLOR_BLUE"), "Blue", None),
            ],
            default: Some(Some(field("x", "x", Type::Int))),
        }),
    );
    let flag = def(
        "flag",
        "Flag",
        TypeKind::Union(Union {
            discriminant_name: "set".into(),
            discriminant: Type::Bool,
            cases: vec![case(
                1,
                Some("TRUE"),
                "Set",
                Some(field("v", "v", Type::UnsignedInt)),
            )],
            default: None,
        }),
    );
    let mut entry = def(
        "entry",
        "Entry",
        structure(vec![
            field("v", "v", Type::Int),
            field("name", "name", d("Name", "name")),
            field("next", "next", optional(d("Entry", "entry"), true)),
        ]),
    );
    entry.recursive = true;
    let mut link = def(
        "link",
        "Link",
        TypeKind::Alias(optional(d("Chain", "chain"), true)),
    );
    link.recursive = true;
    let mut chain = def(
        "chain",
        "Chain",
        structure(vec![
            field("x", "x", Type::Hyper),
            field("next", "next", d("Link", "link")),
        ]),
    );
    chain.recursive = true;
    let mut tree = def(
        "tree",
        "Tree",
        structure(vec![
            field(
                "children",
                "children",
                Type::VarArray(Box::new(d("Tree", "tree")), None),
            ),
            field("left", "left", optional(d("Tree", "tree"), true)),
            field("v", "v", Type::Int),
        ]),
    );
    tree.recursive = true;
    let mut expr = def(
        "expr",
        "Expr",
        TypeKind::Union(Union {
            discriminant_name: "op".into(),
            discriminant: Type::UnsignedInt,
            cases: vec![
                case(0, None, "Leaf", Some(field("v", "v", Type::Double))),
                case(
                    1,
                    None,
                    "Neg",
                    Some(field("e", "e", optional(d("Expr", "expr"), true))),
                ),
            ],
            default: None,
        }),
    );
    expr.recursive = true;
    Module {
        name: "demo".into(),
        path: PathBuf::from("proto/demo.x"),
        consts: vec![
            Const {
                docs: docs(&["Length of a UUID."], "const UUID_LEN = 16;"),
                ..constant("UUID_LEN", 16)
            },
            constant("NAME_MAX", 64),
            constant("MINUS_ONE", -1),
            constant("BIG", 1 << 40),
            constant("VERY_NEGATIVE", -(1 << 40)),
            constant("HUGE", 1 << 70),
        ],
        texts: Vec::new(),
        types: vec![
            color, uuid, name, scalars, composite, measure, value, paint, partial, total, flag,
            entry, link, chain, tree, expr,
        ],
        programs: Vec::new(),
    }
}

/// Module `other`: uses `demo`'s types and constants across the module boundary.
pub fn other_module() -> Module {
    Module {
        name: "other".into(),
        path: PathBuf::from("proto/other.x"),
        consts: vec![constant("OTHER_MAX", 3)],
        texts: Vec::new(),
        types: vec![
            def(
                "wrapper",
                "Wrapper",
                structure(vec![
                    field("c", "c", d("Color", "color")),
                    field("id", "id", d("Uuid", "uuid")),
                    field("bytes", "bytes", Type::FixedOpaque(sized(16, "UUID_LEN"))),
                    field(
                        "entries",
                        "entries",
                        Type::VarArray(
                            Box::new(optional(d("Entry", "entry"), true)),
                            Some(sized(3, "OTHER_MAX")),
                        ),
                    ),
                    field(
                        "labels",
                        "labels",
                        Type::String(Some(sized(64, "NAME_MAX"))),
                    ),
                ]),
            ),
            def(
                "wrapper_ref",
                "WrapperRef",
                TypeKind::Alias(named("other", "wrapper", "Wrapper")),
            ),
        ],
        programs: Vec::new(),
    }
}

/// Both modules.
pub fn model() -> Model {
    Model {
        modules: vec![demo_module(), other_module()],
        user_constants: Vec::new(),
    }
}

/// A procedure with no payloads, annotations or docs.
pub fn procedure(xdr: &str, number: u32) -> Procedure {
    let method = crate::naming::method_name(xdr);
    Procedure {
        xdr_name: xdr.to_string(),
        variant_name: crate::naming::type_name(&method),
        method_name: method,
        number,
        args: Vec::new(),
        result: None,
        message: None,
        annotations: Annotations::default(),
        docs: Docs::default(),
    }
}

/// Module `rpc`: a libvirt-style program whose procedures are out of numeric order and use
/// `demo`'s and `other`'s types (one argument is a typedef of fixed opaque data, another
/// `words`, a typedef of a fixed array of `unsigned char`, which has no codec sending rpcgen's
/// bytes), and an RFC 5531 program with two versions.
pub fn rpc_module() -> Module {
    let get = Procedure {
        args: vec![d("Scalars", "scalars")],
        result: Some(named("other", "wrapper", "Wrapper")),
        annotations: Annotations {
            generate: Some(Generate::Both),
            acl: vec!["machine:read".into(), "machine:save:!DEMO_F_LIVE".into()],
            aclfilter: vec!["machine:getattr".into()],
            high_priority: true,
            ..Annotations::default()
        },
        docs: docs(&["Gets <it>.", "@generate: both", "@acl: machine:read"], ""),
        ..procedure("DEMO_PROC_GET", 3)
    };
    let event = Procedure {
        message: Some(named("other", "wrapper", "Wrapper")),
        ..procedure("DEMO_PROC_CHANGED", 2)
    };
    let by_uuid = Procedure {
        args: vec![d("Uuid", "uuid")],
        ..procedure("DEMO_PROC_BY_UUID", 5)
    };
    let words = || named("rpc", "words", "Words");
    let by_words = Procedure {
        args: vec![words()],
        ..procedure("DEMO_PROC_BY_WORDS", 7)
    };
    let download = Procedure {
        args: vec![d("Name", "name")],
        annotations: Annotations {
            readstream: Some(1),
            sparseflag: Some("DEMO_F_SPARSE".into()),
            ..Annotations::default()
        },
        ..procedure("DEMO_PROC_DOWNLOAD", 4)
    };
    let upload = Procedure {
        args: vec![d("Scalars", "scalars")],
        result: Some(Type::UnsignedHyper),
        annotations: Annotations {
            writestream: Some(2),
            ..Annotations::default()
        },
        ..procedure("DEMO_PROC_UPLOAD", 6)
    };
    let libvirt = Program {
        xdr_name: "DEMO_PROGRAM".into(),
        rust_name: "Demo".into(),
        number: 0x4445_4d4f,
        versions: vec![ProgramVersion {
            xdr_name: "DEMO_PROTOCOL_VERSION".into(),
            number: 1,
            procedures: vec![
                get,
                procedure("DEMO_PROC_NEW", 1),
                event,
                by_uuid,
                by_words,
                download,
                upload,
            ],
        }],
        style: ProgramStyle::Libvirt,
        docs: Docs::default(),
    };
    let add = Procedure {
        args: vec![Type::Int, d("Name", "name")],
        result: Some(Type::VarArray(Box::new(Type::Int), Some(lit(4)))),
        ..procedure("PING_ADD", 2)
    };
    let ping_words = Procedure {
        result: Some(words()),
        ..procedure("PING_WORDS", 3)
    };
    let onc = Program {
        xdr_name: "PING_PROG".into(),
        rust_name: "Ping".into(),
        number: 0x2000_0099,
        versions: vec![
            ProgramVersion {
                xdr_name: "PING_V1".into(),
                number: 1,
                procedures: vec![procedure("PING_NULL", 0)],
            },
            ProgramVersion {
                xdr_name: "PING_V2".into(),
                number: 2,
                procedures: vec![add, procedure("PING_NULL", 0), ping_words],
            },
        ],
        style: ProgramStyle::OncRpc,
        docs: Docs::default(),
    };
    Module {
        name: "rpc".into(),
        path: PathBuf::from("proto/rpc.x"),
        consts: Vec::new(),
        texts: Vec::new(),
        types: vec![def(
            "words",
            "Words",
            TypeKind::Alias(Type::FixedArray(Box::new(Type::UnsignedChar), lit(4))),
        )],
        programs: vec![libvirt, onc],
    }
}
