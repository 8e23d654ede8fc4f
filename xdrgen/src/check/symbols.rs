//! Pass 1: every definition of the unit in one namespace, with anonymous nested types hoisted.

use std::collections::HashMap;

use crate::ast::{self, DeclType, Declaration, DefinitionKind, Ident, TypeSpec};
use crate::parse::ParsedFile;
use crate::source::Span;

use super::Cx;

/// A named type to be built: a definition, or an anonymous type hoisted out of one.
pub(super) struct TypeItem<'a> {
    /// The `.x` name (`outer_field` for hoisted types).
    pub name: Ident,
    /// Index of the defining file.
    pub module: usize,
    /// The comment before the definition.
    pub doc: Option<&'a ast::Doc>,
    /// The definition's source range (for docs).
    pub span: Span,
    /// The body.
    pub body: Body<'a>,
}

impl TypeItem<'_> {
    /// Where the field (or union arm) `field` is declared; `None` for typedefs and enums.
    pub fn field_span(&self, field: &str) -> Option<Span> {
        let decl_span = |d: &Declaration| match d {
            Declaration::Named { name, span, .. } if name.name == field => Some(*span),
            _ => None,
        };
        match self.body {
            Body::Struct(s) => s.fields.iter().find_map(|f| decl_span(&f.decl)),
            Body::Union(u) => u
                .arms
                .iter()
                .map(|a| &a.field)
                .chain(u.default.as_deref())
                .find_map(|f| decl_span(&f.decl)),
            Body::Alias(_) | Body::Enum(_) => None,
        }
    }
}

/// What a [`TypeItem`] is.
#[derive(Clone, Copy)]
pub(super) enum Body<'a> {
    /// `typedef` of a declaration (never `void`).
    Alias(&'a DeclType),
    /// `enum`.
    Enum(&'a ast::EnumBody),
    /// `struct`.
    Struct(&'a ast::StructBody),
    /// `union`.
    Union(&'a ast::UnionBody),
}

impl Body<'_> {
    /// The keyword for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            Body::Alias(_) => "typedef",
            Body::Enum(_) => "enum",
            Body::Struct(_) => "struct",
            Body::Union(_) => "union",
        }
    }
}

/// A `const` definition.
pub(super) struct ConstItem<'a> {
    /// Its name.
    pub name: &'a Ident,
    /// Index of the defining file.
    pub module: usize,
    /// Its comment.
    pub doc: Option<&'a ast::Doc>,
    /// The definition's source range.
    pub span: Span,
    /// Its value as written.
    pub value: &'a ast::Value,
}

/// A string constant (`const NAME = "text";`).
pub(super) struct TextItem<'a> {
    /// Its name.
    pub name: &'a Ident,
    /// Index of the defining file.
    pub module: usize,
    /// Its comment.
    pub doc: Option<&'a ast::Doc>,
    /// The definition's source range.
    pub span: Span,
    /// Its text.
    pub text: &'a str,
}

/// A `program` block.
pub(super) struct ProgramItem<'a> {
    /// Index of the defining file.
    pub module: usize,
    /// The block.
    pub program: &'a ast::Program,
    /// Its comment.
    pub doc: &'a ast::Doc,
}

/// What a name in the shared namespace stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Symbol {
    /// `types[i]`.
    Type(usize),
    /// `consts[i]`.
    Const(usize),
    /// `texts[i]`: a string constant.
    Text(usize),
    /// Member `index` of the enum `types[ty]`.
    Member {
        /// The enum.
        ty: usize,
        /// The member's position.
        index: usize,
    },
}

/// Every definition of a unit.
#[derive(Default)]
pub(super) struct Symbols<'a> {
    /// Types in source order, hoisted ones before their user.
    pub types: Vec<TypeItem<'a>>,
    /// Constants in source order.
    pub consts: Vec<ConstItem<'a>>,
    /// Program blocks in source order.
    pub programs: Vec<ProgramItem<'a>>,
    /// String constants in source order.
    pub texts: Vec<TextItem<'a>>,
    /// The shared namespace: name → what it is and where it was defined.
    pub names: HashMap<String, (Symbol, Span)>,
}

impl<'a> Symbols<'a> {
    /// Looks a name up.
    pub fn get(&self, name: &str) -> Option<Symbol> {
        self.names.get(name).map(|(s, _)| *s)
    }

    /// The members of the enum `types[ty]` (empty for other types).
    pub fn members(&self, ty: usize) -> &'a [ast::EnumMember] {
        match self.types[ty].body {
            Body::Enum(e) => &e.members,
            _ => &[],
        }
    }
}

/// The `.x` name given to an anonymous type written in `outer`'s declaration of `field`.
pub(super) fn hoisted_name(outer: &str, field: &str) -> String {
    format!("{outer}_{field}")
}

/// Collects the definitions of all files into one namespace.
pub(super) fn collect<'a>(cx: &mut Cx, files: &'a [ParsedFile]) -> Symbols<'a> {
    let mut syms = Symbols::default();
    // `%#define`s yield to every other definition of the unit, so they come last.
    let mut pass_consts = Vec::new();
    for (module, file) in files.iter().enumerate() {
        for item in &file.ast.items {
            match item {
                ast::Item::Definition(
                    def @ ast::Definition {
                        kind: DefinitionKind::PassConst { name, value },
                        ..
                    },
                ) => pass_consts.push((module, def, name, value)),
                ast::Item::Definition(def) => collect_definition(cx, &mut syms, module, def),
                ast::Item::PassThrough { .. } => {}
            }
        }
    }
    for (module, def, name, value) in pass_consts {
        collect_pass_const(cx, &mut syms, module, def, name, value);
    }
    syms
}

/// Rule: a `%#define NAME value` defines NAME for C, so it is a constant of the unit unless a
/// definition of the unit or a user constant gives NAME already; that one wins, with a warning
/// when the values differ.
fn collect_pass_const<'a>(
    cx: &mut Cx,
    syms: &mut Symbols<'a>,
    module: usize,
    def: &'a ast::Definition,
    name: &'a Ident,
    value: &'a ast::Value,
) {
    let ast::Value::Literal { value: v, .. } = value else {
        return;
    };
    if let Some((symbol, first)) = syms.names.get(&name.name) {
        let same = match symbol {
            Symbol::Const(i) => matches!(
                syms.consts[*i].value,
                ast::Value::Literal { value, .. } if value == v
            ),
            _ => false,
        };
        if !same {
            let note = format!("that definition wins: {}", cx.location(*first));
            cx.warning(
                name.span,
                format!(
                    "`%#define {}` differs from the unit's definition",
                    name.name
                ),
                note,
            );
        }
        return;
    }
    if let Some(user) = cx.options.constants.get(&name.name) {
        if user != v {
            cx.warning(
                name.span,
                format!(
                    "`%#define {}` is {v}, but it is also given as a constant option ({user})",
                    name.name
                ),
                format!("the value given with --constant {} wins", name.name),
            );
        }
        return;
    }
    declare(cx, syms, name, Symbol::Const(syms.consts.len()));
    syms.consts.push(ConstItem {
        name,
        module,
        doc: Some(&def.doc),
        span: def.span,
        value,
    });
}

/// Adds one top-level definition.
fn collect_definition<'a>(
    cx: &mut Cx,
    syms: &mut Symbols<'a>,
    module: usize,
    def: &'a ast::Definition,
) {
    let doc = Some(&def.doc);
    let item = |name: &Ident, body| TypeItem {
        name: name.clone(),
        module,
        doc,
        span: def.span,
        body,
    };
    match &def.kind {
        DefinitionKind::Const { name, value } => {
            declare(cx, syms, name, Symbol::Const(syms.consts.len()));
            syms.consts.push(ConstItem {
                name,
                module,
                doc,
                span: def.span,
                value,
            });
        }
        // Collected after every other definition (`collect_pass_const`).
        DefinitionKind::PassConst { .. } => {}
        DefinitionKind::StringConst { name, text } => {
            declare(cx, syms, name, Symbol::Text(syms.texts.len()));
            syms.texts.push(TextItem {
                name,
                module,
                doc,
                span: def.span,
                text,
            });
        }
        DefinitionKind::Typedef(Declaration::Void { span }) => {
            // Rule: a typedef must name a type; `typedef void;` defines nothing.
            cx.error(*span, "`void` cannot be typedef'd");
        }
        DefinitionKind::Typedef(Declaration::Named { name, ty, .. }) => match ty {
            // Rule: `typedef struct a a;` only repeats C's struct tag; it defines nothing new.
            DeclType::Plain(TypeSpec::Named(target)) if target.name == name.name => {}
            // `typedef struct { ... } name;` defines the struct itself.
            DeclType::Plain(TypeSpec::Struct(b, _)) => {
                push_type(cx, syms, item(name, Body::Struct(b)))
            }
            DeclType::Plain(TypeSpec::Enum(b, _)) => push_type(cx, syms, item(name, Body::Enum(b))),
            DeclType::Plain(TypeSpec::Union(b, _)) => {
                push_type(cx, syms, item(name, Body::Union(b)))
            }
            _ if repeats_typedef(cx, syms, name, def.span) => {}
            _ => push_type(cx, syms, item(name, Body::Alias(ty))),
        },
        DefinitionKind::Enum { name, body } => push_type(cx, syms, item(name, Body::Enum(body))),
        DefinitionKind::Struct { name, body } => {
            push_type(cx, syms, item(name, Body::Struct(body)))
        }
        DefinitionKind::Union { name, body } => push_type(cx, syms, item(name, Body::Union(body))),
        DefinitionKind::Program(program) => syms.programs.push(ProgramItem {
            module,
            program,
            doc: &def.doc,
        }),
    }
}

/// Rule (warning): a typedef written again exactly as before (rpcgen accepts it, and C compiles
/// it) is the same type: the repeat is ignored. Any other second definition is an error.
fn repeats_typedef(cx: &mut Cx, syms: &Symbols, name: &Ident, span: Span) -> bool {
    let Some((Symbol::Type(i), first)) = syms.names.get(&name.name) else {
        return false;
    };
    let earlier = &syms.types[*i];
    if !matches!(earlier.body, Body::Alias(_))
        || cx.normalized_text(earlier.span) != cx.normalized_text(span)
    {
        return false;
    }
    let note = format!("first defined at {}", cx.location(*first));
    cx.warning(
        name.span,
        format!(
            "`{}` is typedef'd again, identically: the repeat is ignored",
            name.name
        ),
        note,
    );
    true
}

/// Adds a type after the anonymous types nested in it, and declares its name (and its members).
fn push_type<'a>(cx: &mut Cx, syms: &mut Symbols<'a>, item: TypeItem<'a>) {
    let outer = item.name.name.clone();
    let hoist = |cx: &mut Cx, syms: &mut Symbols<'a>, decl: &'a Declaration| {
        if let Declaration::Named { name, ty, .. } = decl {
            hoist_decl(cx, syms, item.module, &outer, name, ty);
        }
    };
    match item.body {
        Body::Alias(ty) => hoist_decl(cx, syms, item.module, &outer, &item.name, ty),
        Body::Enum(_) => {}
        Body::Struct(body) => body.fields.iter().for_each(|f| hoist(cx, syms, &f.decl)),
        Body::Union(body) => {
            hoist(cx, syms, &body.discriminant);
            body.arms
                .iter()
                .for_each(|a| hoist(cx, syms, &a.field.decl));
            if let Some(d) = &body.default {
                hoist(cx, syms, &d.decl);
            }
        }
    }
    let index = syms.types.len();
    declare(cx, syms, &item.name, Symbol::Type(index));
    if let Body::Enum(body) = item.body {
        for (i, m) in body.members.iter().enumerate() {
            declare(
                cx,
                syms,
                &m.name,
                Symbol::Member {
                    ty: index,
                    index: i,
                },
            );
        }
    }
    syms.types.push(item);
}

/// Hoists the anonymous type of one declaration, if it has one.
fn hoist_decl<'a>(
    cx: &mut Cx,
    syms: &mut Symbols<'a>,
    module: usize,
    outer: &str,
    field: &Ident,
    ty: &'a DeclType,
) {
    let spec = match ty {
        DeclType::Plain(s)
        | DeclType::FixedArray(s, _)
        | DeclType::VarArray(s, _)
        | DeclType::Optional(s) => s,
        _ => return,
    };
    let body = match spec {
        TypeSpec::Enum(b, _) => Body::Enum(b),
        TypeSpec::Struct(b, _) => Body::Struct(b),
        TypeSpec::Union(b, _) => Body::Union(b),
        _ => return,
    };
    let name = Ident {
        name: hoisted_name(outer, &field.name),
        span: field.span,
    };
    let item = TypeItem {
        name,
        module,
        doc: None,
        span: spec.span(),
        body,
    };
    push_type(cx, syms, item);
}

/// Rule: types, constants and enum members share one namespace across all files of the unit;
/// each name is defined once.
fn declare(cx: &mut Cx, syms: &mut Symbols, name: &Ident, symbol: Symbol) {
    if let Some((_, first)) = syms.names.get(&name.name) {
        let first = *first;
        cx.duplicate(
            name.span,
            format!("duplicate definition of `{}`", name.name),
            first,
        );
        return;
    }
    syms.names.insert(name.name.clone(), (symbol, name.span));
}
