//! Discriminated unions: the discriminant's type and the case labels.

use std::collections::HashMap;

use crate::ast::{self, DeclType, Declaration, TypeSpec, Value};
use crate::model::{self, Type, UnionCase};
use crate::naming;
use crate::source::Span;

use super::consts::Consts;
use super::symbols::{hoisted_name, Body, Symbol};
use super::types::{libtirpc_builtin, value_text, Resolver};
use super::Cx;

/// What a discriminant is, after following typedefs.
#[derive(Clone, Copy)]
enum Disc {
    Int,
    Unsigned,
    Bool,
    /// `char`, `short` and their unsigned forms (rpcgen takes them; each is one word).
    Narrow(Narrow),
    /// The enum `types[i]`.
    Enum(usize),
}

/// A discriminant narrower than a word.
#[derive(Clone, Copy)]
enum Narrow {
    Char,
    UnsignedChar,
    Short,
    UnsignedShort,
}

impl Narrow {
    fn of(t: &Type) -> Option<Narrow> {
        Some(match t {
            Type::Char => Narrow::Char,
            Type::UnsignedChar => Narrow::UnsignedChar,
            Type::Short => Narrow::Short,
            Type::UnsignedShort => Narrow::UnsignedShort,
            _ => return None,
        })
    }

    fn ty(self) -> Type {
        match self {
            Narrow::Char => Type::Char,
            Narrow::UnsignedChar => Type::UnsignedChar,
            Narrow::Short => Type::Short,
            Narrow::UnsignedShort => Type::UnsignedShort,
        }
    }

    /// The values it holds, and its name for messages.
    fn range(self) -> (i128, i128, &'static str) {
        match self {
            Narrow::Char => (i128::from(i8::MIN), i128::from(i8::MAX), "char"),
            Narrow::UnsignedChar => (0, i128::from(u8::MAX), "unsigned char"),
            Narrow::Short => (i128::from(i16::MIN), i128::from(i16::MAX), "short"),
            Narrow::UnsignedShort => (0, i128::from(u16::MAX), "unsigned short"),
        }
    }
}

/// How many typedefs a discriminant may go through (a guard against typedef cycles, which the
/// recursion pass reports).
const MAX_ALIASES: usize = 32;

impl Resolver<'_, '_> {
    /// A union: its discriminant and one [`UnionCase`] per label.
    pub(super) fn union(
        &self,
        cx: &mut Cx,
        consts: &mut Consts,
        outer: &str,
        body: &ast::UnionBody,
    ) -> model::Union {
        let (disc_name, disc) = match &body.discriminant {
            Declaration::Named { name, ty, span } => (
                name.name.clone(),
                self.discriminant(cx, ty, outer, &name.name, *span),
            ),
            Declaration::Void { span } => {
                cx.error(*span, "a union's discriminant cannot be `void`");
                (String::new(), None)
            }
        };
        let disc_type = match disc {
            Some(Disc::Int) | None => Type::Int,
            Some(Disc::Unsigned) => Type::UnsignedInt,
            Some(Disc::Bool) => Type::Bool,
            Some(Disc::Narrow(n)) => n.ty(),
            Some(Disc::Enum(i)) => Type::Named(self.type_ref(i)),
        };
        // Variant names of named labels that are not members of an enum discriminant.
        let named: Vec<&str> = body
            .arms
            .iter()
            .flat_map(|a| &a.labels)
            .filter_map(|l| match l {
                Value::Named(i) => Some(i.name.as_str()),
                Value::Literal { .. } => None,
            })
            .collect();
        let named_rust = naming::variant_names(&named);
        let mut seen: HashMap<i128, Span> = HashMap::new();
        let mut cases = Vec::new();
        for arm in &body.arms {
            let field = self.field(cx, consts, outer, &arm.field);
            let docs = cx.docs(Some(&arm.field.doc), None);
            for label in &arm.labels {
                // A label that could not be evaluated was reported already; comparing its
                // stand-in value would only add false duplicates.
                let value = self.label(cx, consts, disc, label);
                if let Some(value) = value {
                    check_duplicate_label(cx, &mut seen, label, value);
                }
                let value = value.unwrap_or(0);
                let rust_name = match label {
                    Value::Named(i) => {
                        let pos = named.iter().position(|n| *n == i.name).unwrap_or(0);
                        self.own_variant(disc, &i.name)
                            .or_else(|| self.member_variant(cx, consts, disc, value))
                            .unwrap_or_else(|| named_rust[pos].clone())
                    }
                    Value::Literal { .. } => self
                        .member_variant(cx, consts, disc, value)
                        .unwrap_or_else(|| literal_variant(arm, value)),
                };
                let rust_name = naming::union_case_name(rust_name, body.default.is_some());
                cases.push(UnionCase {
                    value,
                    label: match label {
                        Value::Named(i) => Some(i.name.clone()),
                        Value::Literal { .. } => None,
                    },
                    rust_name,
                    field: field.clone(),
                    docs: docs.clone(),
                });
            }
        }
        let default = body
            .default
            .as_ref()
            .map(|d| self.field(cx, consts, outer, d));
        model::Union {
            discriminant_name: disc_name,
            discriminant: disc_type,
            cases,
            default,
        }
    }

    /// Rule: a discriminant is an int, unsigned int, bool or enum (through typedefs), or, as
    /// rpcgen takes them, a char or short (signed or not).
    fn discriminant(
        &self,
        cx: &mut Cx,
        ty: &DeclType,
        outer: &str,
        field: &str,
        span: Span,
    ) -> Option<Disc> {
        let DeclType::Plain(spec) = ty else {
            cx.error(
                span,
                "a union's discriminant must be a single int, unsigned int, bool, enum, char or short",
            );
            return None;
        };
        let anon = hoisted_name(outer, field);
        let mut spec = spec;
        for _ in 0..MAX_ALIASES {
            let name = match spec {
                TypeSpec::Builtin { ty, .. } => {
                    return match ty {
                        ast::Builtin::Int => Some(Disc::Int),
                        ast::Builtin::UnsignedInt => Some(Disc::Unsigned),
                        ast::Builtin::Bool => Some(Disc::Bool),
                        ast::Builtin::Char => Some(Disc::Narrow(Narrow::Char)),
                        ast::Builtin::UnsignedChar => Some(Disc::Narrow(Narrow::UnsignedChar)),
                        ast::Builtin::Short => Some(Disc::Narrow(Narrow::Short)),
                        ast::Builtin::UnsignedShort => Some(Disc::Narrow(Narrow::UnsignedShort)),
                        _ => bad_discriminant(cx, span),
                    }
                }
                TypeSpec::Named(i) => i.name.as_str(),
                TypeSpec::Enum(..) => anon.as_str(),
                TypeSpec::Struct(..) | TypeSpec::Union(..) => return bad_discriminant(cx, span),
            };
            match self.syms.get(name) {
                Some(Symbol::Type(i)) => match self.syms.types[i].body {
                    Body::Enum(_) => return Some(Disc::Enum(i)),
                    Body::Alias(DeclType::Plain(next)) => spec = next,
                    _ => return bad_discriminant(cx, span),
                },
                Some(_) => {
                    cx.error(span, format!("`{name}` is a constant, not a type"));
                    return None;
                }
                None => {
                    return match libtirpc_builtin(name) {
                        Some(Type::Int) => Some(Disc::Int),
                        Some(Type::UnsignedInt) => Some(Disc::Unsigned),
                        Some(t) if Narrow::of(&t).is_some() => Narrow::of(&t).map(Disc::Narrow),
                        Some(_) => bad_discriminant(cx, span),
                        // Reported as an undefined type by `spec`.
                        None => {
                            self.spec(cx, spec, &anon);
                            None
                        }
                    };
                }
            }
        }
        bad_discriminant(cx, span)
    }

    /// Rule: a case label is a value of the discriminant's type; for an enum, one of its members
    /// (by name, or by value when written as a number or another constant).
    fn label(
        &self,
        cx: &mut Cx,
        consts: &mut Consts,
        disc: Option<Disc>,
        label: &Value,
    ) -> Option<i128> {
        let value = consts.value(cx, self.syms, label)?;
        let text = value_text(label);
        let (lo, hi, ty) = match disc? {
            Disc::Int => (i128::from(i32::MIN), i128::from(i32::MAX), "int"),
            Disc::Unsigned => (0, i128::from(u32::MAX), "unsigned int"),
            Disc::Bool => (0, 1, "bool"),
            Disc::Narrow(n) => n.range(),
            Disc::Enum(e) => {
                let enum_name = &self.syms.types[e].name.name;
                if let Value::Named(i) = label {
                    match self.syms.get(&i.name) {
                        Some(Symbol::Member { ty, .. }) if ty == e => return Some(value),
                        Some(Symbol::Member { .. }) => {
                            cx.error(
                                i.span,
                                format!("case `{text}` is not a member of enum `{enum_name}`"),
                            );
                            return Some(value);
                        }
                        _ => {}
                    }
                }
                if !self.enum_values(cx, consts, e).contains(&value) {
                    cx.error(
                        label.span(),
                        format!("case `{text}` ({value}) is not a value of enum `{enum_name}`"),
                    );
                }
                return Some(value);
            }
        };
        if value < lo || value > hi {
            cx.error(
                label.span(),
                format!("case `{text}` ({value}) is out of range for the {ty} discriminant"),
            );
        }
        Some(value)
    }

    /// The values of the enum `types[e]`.
    fn enum_values(&self, cx: &mut Cx, consts: &mut Consts, e: usize) -> Vec<i128> {
        (0..self.syms.members(e).len())
            .filter_map(|i| consts.member(cx, self.syms, e, i))
            .collect()
    }

    /// For an enum discriminant and a label naming one of its members, that member's variant name.
    fn own_variant(&self, disc: Option<Disc>, label: &str) -> Option<String> {
        let Some(Disc::Enum(e)) = disc else {
            return None;
        };
        let members = self.syms.members(e);
        let position = members.iter().position(|m| m.name.name == label)?;
        let names: Vec<&str> = members.iter().map(|m| m.name.name.as_str()).collect();
        naming::variant_names(&names).into_iter().nth(position)
    }

    /// For an enum discriminant, the Rust variant name of the member with this value.
    fn member_variant(
        &self,
        cx: &mut Cx,
        consts: &mut Consts,
        disc: Option<Disc>,
        value: i128,
    ) -> Option<String> {
        let Some(Disc::Enum(e)) = disc else {
            return None;
        };
        let members = self.syms.members(e);
        let names: Vec<&str> = members.iter().map(|m| m.name.name.as_str()).collect();
        let position =
            (0..members.len()).find(|&i| consts.member(cx, self.syms, e, i) == Some(value))?;
        naming::variant_names(&names).into_iter().nth(position)
    }
}

/// Reports a discriminant of the wrong type.
fn bad_discriminant(cx: &mut Cx, span: Span) -> Option<Disc> {
    cx.error(
        span,
        "a union's discriminant must be an int, unsigned int, bool, enum, char or short",
    );
    None
}

/// The variant name of a literal label: from the arm's field when the arm has one label, else
/// `V<value>`.
fn literal_variant(arm: &ast::UnionArm, value: i128) -> String {
    match &arm.field.decl {
        Declaration::Named { name, .. } if arm.labels.len() == 1 => naming::type_name(&name.name),
        _ if value < 0 => format!("VMinus{}", value.unsigned_abs()),
        _ => format!("V{value}"),
    }
}

/// Rule: each case value appears once in a union.
fn check_duplicate_label(cx: &mut Cx, seen: &mut HashMap<i128, Span>, label: &Value, value: i128) {
    match seen.get(&value) {
        Some(first) => cx.duplicate(
            label.span(),
            format!("duplicate case `{}` ({value})", value_text(label)),
            *first,
        ),
        None => {
            seen.insert(value, label.span());
        }
    }
}
