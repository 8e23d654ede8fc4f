//! The syntax tree of `.x` files, as written: names unresolved, every node with its [`Span`].
//!
//! The parser ([`crate::parse`]) builds it; the checker ([`crate::check`]) reads it. Comments that
//! precede a definition, a field, an enum member or a union arm are kept as [`Doc`]s, with libvirt's
//! `@name: value` annotation lines parsed out of them.

use crate::source::Span;

/// An identifier with the place it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The identifier as written in the `.x` file.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A comment attached to the item that follows it (or, for a trailing `/* ... */` on the same
/// line, to the item it ends).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Doc {
    /// The comment text with `/*`, `*/` and leading ` * ` decorations removed, one entry per line.
    pub lines: Vec<String>,
    /// libvirt-style `@key: value` lines found in the comment, in order.
    pub annotations: Vec<Annotation>,
    /// Where the comment(s) were written; `None` for an empty doc.
    pub span: Option<Span>,
}

impl Doc {
    /// True when there is no comment text.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty()) && self.annotations.is_empty()
    }
}

/// One `@key: value` line of a comment, e.g. `@acl: domain:write` or `@readstream: 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// The key without `@`, e.g. `generate`.
    pub key: String,
    /// The trimmed text after the colon.
    pub value: String,
    /// Where the line was written.
    pub span: Span,
}

/// One parsed `.x` file.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// Definitions, pass-through lines and preprocessor directives in source order.
    pub items: Vec<Item>,
}

/// A top-level element of a `.x` file.
// Built once per input and walked a few times: boxing the large variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A definition (`const`, `typedef`, `enum`, `struct`, `union`, `program`).
    Definition(Definition),
    /// A `%` line, copied verbatim to C by rpcgen; kept for inspection, ignored by Rust backends.
    PassThrough {
        /// The text after `%`.
        text: String,
        /// Where the line was written.
        span: Span,
    },
}

/// A named definition with its leading comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The comment written right before the definition.
    pub doc: Doc,
    /// What is defined.
    pub kind: DefinitionKind,
    /// The whole definition, from its keyword to its `;`.
    pub span: Span,
}

/// The kinds of definitions of RFC 4506 §6.3 and RFC 5531 §12.
#[derive(Debug, Clone, PartialEq)]
pub enum DefinitionKind {
    /// `const NAME = value;`, or `#define NAME value` seen by the preprocessor.
    Const {
        /// The constant's name.
        name: Ident,
        /// Its value: a literal or another constant's name.
        value: Value,
    },
    /// `%#define NAME <integer expression>`: a constant only C sees, evaluated by the
    /// preprocessor. A `const` or `#define` of the unit, or a user constant, of the same name
    /// wins.
    PassConst {
        /// The constant's name.
        name: Ident,
        /// Its value (always a literal).
        value: Value,
    },
    /// `const NAME = "text";`: rpcgen copies it to C as a string macro; it becomes a `&str`.
    StringConst {
        /// The constant's name.
        name: Ident,
        /// Its text, C escapes resolved.
        text: String,
    },
    /// `typedef declaration;` (also `typedef struct a a;` style aliases of named types).
    Typedef(Declaration),
    /// `enum name { ... };`
    Enum {
        /// The enum's name.
        name: Ident,
        /// Its body.
        body: EnumBody,
    },
    /// `struct name { ... };`
    Struct {
        /// The struct's name.
        name: Ident,
        /// Its body.
        body: StructBody,
    },
    /// `union name switch (...) { ... };`
    Union {
        /// The union's name.
        name: Ident,
        /// Its body.
        body: UnionBody,
    },
    /// `program NAME { version ... } = number;`
    Program(Program),
}

/// A value written where a number is expected: a literal or a constant name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A decimal, hex (`0x..`) or octal (`0..`) literal, with its sign applied. Kept as `i128` so
    /// that `0xffffffff` and `-1` are both representable.
    Literal {
        /// The literal's value.
        value: i128,
        /// Where it was written.
        span: Span,
    },
    /// A name to be resolved: a `const`, an enum member, a `#define`, or a user-supplied constant.
    Named(Ident),
}

impl Value {
    /// Where the value was written.
    pub fn span(&self) -> Span {
        match self {
            Value::Literal { span, .. } => *span,
            Value::Named(ident) => ident.span,
        }
    }
}

/// The members of an enum.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumBody {
    /// Members in source order.
    pub members: Vec<EnumMember>,
}

/// `NAME = value` (or `NAME` alone, which rpcgen numbers as previous + 1, starting at 0).
#[derive(Debug, Clone, PartialEq)]
pub struct EnumMember {
    /// The comment written before the member (libvirt's `/** @generate: ... */` blocks).
    pub doc: Doc,
    /// The member's name.
    pub name: Ident,
    /// Its value, when written.
    pub value: Option<Value>,
    /// The whole member.
    pub span: Span,
}

/// The fields of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct StructBody {
    /// Fields in source order; `void` fields are not allowed in structs.
    pub fields: Vec<Field>,
}

/// A struct field or union arm's declaration with its comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The comment written before the field, or a trailing comment on its line.
    pub doc: Doc,
    /// The declaration.
    pub decl: Declaration,
}

/// A discriminated union's body.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionBody {
    /// The discriminant declaration (`switch (int type)`): a plain declaration of an int, unsigned
    /// int, bool or enum type.
    pub discriminant: Declaration,
    /// The `case` arms in source order.
    pub arms: Vec<UnionArm>,
    /// The `default:` arm, if any.
    pub default: Option<Box<Field>>,
}

/// One arm: one or more `case` labels sharing a declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionArm {
    /// The labels (`case A: case B:` gives two).
    pub labels: Vec<Value>,
    /// The arm's declaration (possibly `void`), with its comment.
    pub field: Field,
    /// The whole arm.
    pub span: Span,
}

/// A declaration: `T name`, `T name[N]`, `T name<N>`, `T *name`, `opaque name[N]`, `string
/// name<N>`, or `void`.
#[derive(Debug, Clone, PartialEq)]
pub enum Declaration {
    /// `void` (only meaningful in union arms).
    Void {
        /// Where `void` was written.
        span: Span,
    },
    /// A named declaration.
    Named {
        /// The declared name.
        name: Ident,
        /// Its type and shape.
        ty: DeclType,
        /// The whole declaration.
        span: Span,
    },
}

impl Declaration {
    /// The whole declaration's span.
    pub fn span(&self) -> Span {
        match self {
            Declaration::Void { span } | Declaration::Named { span, .. } => *span,
        }
    }
}

/// The shape of a declaration.
#[derive(Debug, Clone, PartialEq)]
pub enum DeclType {
    /// `T name`
    Plain(TypeSpec),
    /// `T name[N]` (not opaque, not string).
    FixedArray(TypeSpec, Value),
    /// `T name<N>` or `T name<>` (bound `None`).
    VarArray(TypeSpec, Option<Value>),
    /// `opaque name[N]`
    FixedOpaque(Value),
    /// `opaque name<N>` or `opaque name<>`
    VarOpaque(Option<Value>),
    /// `string name<N>` or `string name<>`
    String(Option<Value>),
    /// `T *name`
    Optional(TypeSpec),
}

/// A type specifier.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeSpec {
    /// A built-in scalar type.
    Builtin {
        /// Which one.
        ty: Builtin,
        /// Where it was written.
        span: Span,
    },
    /// A named type (`foo`, or `struct foo`, `union foo`, `enum foo` referring to a named one).
    Named(Ident),
    /// An anonymous `enum { ... }` written inside a declaration.
    Enum(Box<EnumBody>, Span),
    /// An anonymous `struct { ... }` written inside a declaration.
    Struct(Box<StructBody>, Span),
    /// An anonymous `union switch (...) { ... }` written inside a declaration.
    Union(Box<UnionBody>, Span),
}

impl TypeSpec {
    /// Where the type specifier was written.
    pub fn span(&self) -> Span {
        match self {
            TypeSpec::Builtin { span, .. } => *span,
            TypeSpec::Named(ident) => ident.span,
            TypeSpec::Enum(_, span) | TypeSpec::Struct(_, span) | TypeSpec::Union(_, span) => *span,
        }
    }
}

/// Built-in scalar types, including rpcgen's C-flavoured ones. Every one but the 64-bit and
/// floating types is a single 4-byte word on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `int`, `long`
    Int,
    /// `unsigned int`, `unsigned`, `unsigned long`
    UnsignedInt,
    /// `hyper`
    Hyper,
    /// `unsigned hyper`
    UnsignedHyper,
    /// `float`
    Float,
    /// `double`
    Double,
    /// `quadruple` (128-bit float; no Rust meaning, rejected by the checker)
    Quadruple,
    /// `bool`
    Bool,
    /// `char` (signed, 4 bytes on the wire)
    Char,
    /// `unsigned char` (4 bytes on the wire)
    UnsignedChar,
    /// `short` (4 bytes on the wire)
    Short,
    /// `unsigned short` (4 bytes on the wire)
    UnsignedShort,
}

/// `program NAME { version ... } = number;`
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The program's name.
    pub name: Ident,
    /// Its versions.
    pub versions: Vec<Version>,
    /// Its number.
    pub number: Value,
}

/// `version NAME { procedures } = number;`
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// The comment before the version.
    pub doc: Doc,
    /// The version's name.
    pub name: Ident,
    /// Its procedures.
    pub procedures: Vec<Procedure>,
    /// Its number.
    pub number: Value,
    /// The whole version block.
    pub span: Span,
}

/// `RESULT NAME(ARG, ...) = number;`
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    /// The comment before the procedure.
    pub doc: Doc,
    /// The result type; `None` for `void`. [`DeclType::Plain`], or [`DeclType::String`] for
    /// `string` / `string<N>`, which rpcgen accepts here (`int PRINTMESSAGE(string) = 1;`).
    pub result: Option<DeclType>,
    /// The procedure's name.
    pub name: Ident,
    /// The argument types, shaped as [`Procedure::result`]; empty for `(void)`.
    pub args: Vec<DeclType>,
    /// Its number.
    pub number: Value,
    /// The whole procedure line.
    pub span: Span,
}
