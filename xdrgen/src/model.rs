//! The checked model: the one input of every emitter.
//!
//! Names are resolved and converted to Rust ([`crate::naming`]), sizes are numbers, anonymous
//! nested types are hoisted to named ones, and programs from both sources (RFC 5531 `program`
//! blocks and libvirt's procedure enums) share one shape. Emitters never see the AST.

use std::path::PathBuf;

/// Everything generated from one set of `.x` files checked together.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// One module per input file (and per file it `#include`s), in the order named.
    pub modules: Vec<Module>,
    /// The user-supplied constants (`Config::constant`, `--constant`) that the files use, in
    /// name order. They belong to no file, so they are emitted at the top of the output, beside
    /// the modules (`protocols::VIR_UUID_BUFLEN`), wherever the files that use them are listed.
    pub user_constants: Vec<Const>,
}

impl Model {
    /// Looks a type up by its `.x` name, in any module.
    pub fn type_def(&self, xdr_name: &str) -> Option<&TypeDef> {
        self.modules
            .iter()
            .flat_map(|m| &m.types)
            .find(|t| t.xdr_name == xdr_name)
    }

    /// The module that defines a type, by the type's `.x` name.
    pub fn module_of(&self, xdr_name: &str) -> Option<&Module> {
        self.modules
            .iter()
            .find(|m| m.types.iter().any(|t| t.xdr_name == xdr_name))
    }
}

/// The definitions of one `.x` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// The Rust module name, from the file stem (`remote_protocol.x` → `remote_protocol`).
    pub name: String,
    /// The file's path as given.
    pub path: PathBuf,
    /// Constants, in source order (including `#define`s and enum members are not repeated here).
    pub consts: Vec<Const>,
    /// String constants (`const NAME = "text";`), in source order.
    pub texts: Vec<TextConst>,
    /// Types, in source order, with anonymous nested types hoisted before their user.
    pub types: Vec<TypeDef>,
    /// Programs, from `program` blocks or libvirt-style procedure enums.
    pub programs: Vec<Program>,
}

/// Text for rustdoc: the `.x` comment and the `.x` definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Docs {
    /// The comment's lines (decorations removed); may be empty.
    pub comment: Vec<String>,
    /// The definition as written in the `.x` file (for a ```` ```text ```` block); empty for
    /// members and fields.
    pub definition: String,
}

/// `const NAME = value;`
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust name (SCREAMING_SNAKE_CASE, keyword-safe).
    pub rust_name: String,
    /// The value.
    pub value: i128,
    /// Docs.
    pub docs: Docs,
}

/// A string constant: `const NAME = "text";`, which rpcgen copies to C as a string macro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextConst {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust name (SCREAMING_SNAKE_CASE, keyword-safe).
    pub rust_name: String,
    /// The text, C escapes resolved.
    pub text: String,
    /// Docs.
    pub docs: Docs,
}

/// A named type.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// The `.x` name (for hoisted anonymous types: `outer_field`).
    pub xdr_name: String,
    /// The Rust name (UpperCamelCase).
    pub rust_name: String,
    /// Docs.
    pub docs: Docs,
    /// What it is.
    pub kind: TypeKind,
    /// True when the type can contain itself (through optional data), so that encode, decode,
    /// drop and comparison must not recurse once per list element.
    pub recursive: bool,
}

/// The shapes of named types.
// Built once per input and walked a few times: boxing the large variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// `typedef`: another name for a type.
    Alias(Type),
    /// `enum`.
    Enum(Enum),
    /// `struct`.
    Struct(Struct),
    /// `union switch`.
    Union(Union),
}

/// An enum's members.
#[derive(Debug, Clone, PartialEq)]
pub struct Enum {
    /// Members in source order.
    pub members: Vec<EnumMember>,
}

/// One enum member.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumMember {
    /// The `.x` name (`VIR_NET_CALL`).
    pub xdr_name: String,
    /// The Rust variant name, with the prefix shared by all members removed (`Call`).
    pub rust_name: String,
    /// The value on the wire.
    pub value: i32,
    /// Docs.
    pub docs: Docs,
}

/// A struct's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    /// Fields in source order.
    pub fields: Vec<Field>,
}

/// A struct field or a union arm's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust name (snake_case, keyword-escaped: `type` → `r#type`).
    pub rust_name: String,
    /// Its type.
    pub ty: Type,
    /// Docs.
    pub docs: Docs,
}

/// A discriminated union.
#[derive(Debug, Clone, PartialEq)]
pub struct Union {
    /// The discriminant's `.x` name (`type` in `switch (int type)`).
    pub discriminant_name: String,
    /// The discriminant's type: `Int`, `UnsignedInt`, `Bool` or a `Named` enum.
    pub discriminant: Type,
    /// One entry per `case` label (an arm with two labels gives two entries sharing its value
    /// type), in source order.
    pub cases: Vec<UnionCase>,
    /// The `default:` arm: `Some(None)` for `default: void;`.
    pub default: Option<Option<Field>>,
}

impl Union {
    /// The fields of its arms, `case` labels in source order then `default:` (`void` arms have
    /// none; an arm with two labels is given twice).
    pub fn arm_fields(&self) -> impl Iterator<Item = &Field> {
        self.cases
            .iter()
            .filter_map(|c| c.field.as_ref())
            .chain(self.default.iter().flatten())
    }
}

/// One `case` label with the arm's declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionCase {
    /// The label's value.
    pub value: i128,
    /// The label as written when it was a name (`VIR_TYPED_PARAM_INT`); `None` for literals.
    pub label: Option<String>,
    /// The Rust variant name (from the label's enum member or constant, else from the field).
    pub rust_name: String,
    /// The arm's value; `None` for `void`.
    pub field: Option<Field>,
    /// Docs (the arm's comment).
    pub docs: Docs,
}

/// A numeric bound of a fixed or variable size, and the constant it was written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Size {
    /// The value.
    pub value: u32,
    /// The Rust name of the constant used, if one was (`REMOTE_STRING_MAX`), for readable output.
    pub name: Option<String>,
}

/// A type as used in a declaration.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// `int`, `long`: `i32`.
    Int,
    /// `unsigned int`, `unsigned`, `unsigned long`: `u32`.
    UnsignedInt,
    /// `hyper`: `i64`.
    Hyper,
    /// `unsigned hyper`: `u64`.
    UnsignedHyper,
    /// `float`: `f32`.
    Float,
    /// `double`: `f64`.
    Double,
    /// `bool`: `bool`.
    Bool,
    /// `char`: `i8`, one 4-byte word.
    Char,
    /// `unsigned char`: `u8`, one 4-byte word.
    UnsignedChar,
    /// `short`: `i16`, one 4-byte word.
    Short,
    /// `unsigned short`: `u16`, one 4-byte word.
    UnsignedShort,
    /// A named type defined in the `.x` files (after following no aliases).
    Named(TypeRef),
    /// A type the `.x` files use but do not define, mapped by the user to a Rust path that
    /// implements the runtime's `Encode`/`Decode`.
    Extern {
        /// The `.x` name.
        xdr_name: String,
        /// The Rust path.
        rust_path: String,
    },
    /// `opaque x[N]`: `[u8; N]`.
    FixedOpaque(Size),
    /// `opaque x<N>`: bounded bytes (`None` = `<>`, i.e. up to `u32::MAX`).
    VarOpaque(Option<Size>),
    /// `string x<N>`: bounded string.
    String(Option<Size>),
    /// `T x[N]`.
    FixedArray(Box<Type>, Size),
    /// `T x<N>`.
    VarArray(Box<Type>, Option<Size>),
    /// `T *x`: optional data.
    Optional {
        /// The referenced type.
        inner: Box<Type>,
        /// True when the value must be boxed (the type reaches back to the one that contains it).
        boxed: bool,
    },
}

impl Type {
    /// The `.x` spelling of a built-in scalar type (`unsigned hyper`); `None` for the others.
    pub fn scalar_name(&self) -> Option<&'static str> {
        Some(match self {
            Type::Int => "int",
            Type::UnsignedInt => "unsigned int",
            Type::Hyper => "hyper",
            Type::UnsignedHyper => "unsigned hyper",
            Type::Float => "float",
            Type::Double => "double",
            Type::Bool => "bool",
            Type::Char => "char",
            Type::UnsignedChar => "unsigned char",
            Type::Short => "short",
            Type::UnsignedShort => "unsigned short",
            _ => return None,
        })
    }
}

/// A reference to a named type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRef {
    /// The `.x` name.
    pub xdr_name: String,
    /// The Rust name.
    pub rust_name: String,
    /// The Rust module (see [`Module::name`]) that defines it.
    pub module: String,
}

/// A program with its versions and procedures.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The `.x` name (`REMOTE_PROGRAM`, or the `program` block's name).
    pub xdr_name: String,
    /// A Rust base name for generated items (`Remote`, `Qemu`, `Nfs`).
    pub rust_name: String,
    /// The program number.
    pub number: u32,
    /// Versions.
    pub versions: Vec<ProgramVersion>,
    /// Where it came from.
    pub style: ProgramStyle,
    /// Docs.
    pub docs: Docs,
}

/// How a program was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramStyle {
    /// An RFC 5531 `program` block (standard ONC RPC on the wire).
    OncRpc,
    /// A libvirt-style procedure enum next to `*_PROGRAM` / `*_PROTOCOL_VERSION` constants
    /// (libvirt's virNetMessage envelope on the wire).
    Libvirt,
}

/// One version of a program.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramVersion {
    /// The `.x` name.
    pub xdr_name: String,
    /// The version number.
    pub number: u32,
    /// Procedures in source order.
    pub procedures: Vec<Procedure>,
}

/// One procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    /// The `.x` name (`REMOTE_PROC_DOMAIN_GET_INFO`).
    pub xdr_name: String,
    /// The Rust method name (`domain_get_info`).
    pub method_name: String,
    /// The Rust variant name in the procedure enum (`DomainGetInfo`).
    pub variant_name: String,
    /// The procedure number.
    pub number: u32,
    /// Argument types, in order; empty for none (libvirt procedures have at most one).
    pub args: Vec<Type>,
    /// The result type; `None` for none.
    pub result: Option<Type>,
    /// For libvirt event procedures: the `*_msg` payload type.
    pub message: Option<Type>,
    /// libvirt's annotations from the comment before the enum member.
    pub annotations: Annotations,
    /// Docs.
    pub docs: Docs,
}

/// libvirt's procedure annotations (`@generate`, `@acl`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Annotations {
    /// `@generate: both|client|server|none`.
    pub generate: Option<Generate>,
    /// `@acl:` lines, in order.
    pub acl: Vec<String>,
    /// `@aclfilter:` lines, in order.
    pub aclfilter: Vec<String>,
    /// `@priority: high` (true) or low/absent (false).
    pub high_priority: bool,
    /// `@readstream: N`: the call opens a stream that sends data from server to client.
    pub readstream: Option<u32>,
    /// `@writestream: N`: the call opens a stream that sends data from client to server.
    pub writestream: Option<u32>,
    /// `@sparseflag: FLAG`.
    pub sparseflag: Option<String>,
    /// Any other `@key: value` lines, kept verbatim.
    pub other: Vec<(String, String)>,
}

/// Which side libvirt's own generator writes stubs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generate {
    /// `both`
    Both,
    /// `client`
    Client,
    /// `server`
    Server,
    /// `none`
    None,
}
