//! Pass 3: the model's types — type names resolved, sizes evaluated, `void` and `quadruple`
//! rejected.

use crate::ast::{self, Builtin, DeclType, Declaration, TypeSpec, Value};
use crate::model::{self, Size, Type, TypeDef, TypeKind, TypeRef};
use crate::naming;
use crate::source::Span;

use super::consts::Consts;
use super::symbols::{hoisted_name, Body, Symbol, Symbols, TypeItem};
use super::Cx;

/// libtirpc's `xdr_*` routines that rpcgen files use as type names without defining them, by
/// their wire form (`rpc/xdr.h`; the 8- and 16-bit ones are one 4-byte word each).
pub(super) fn libtirpc_builtin(name: &str) -> Option<Type> {
    Some(match name {
        "u_int" | "u_long" | "uint32_t" | "u_int32_t" => Type::UnsignedInt,
        "int32_t" => Type::Int,
        "u_short" | "uint16_t" | "u_int16_t" => Type::UnsignedShort,
        "int16_t" => Type::Short,
        "u_char" | "uint8_t" | "u_int8_t" => Type::UnsignedChar,
        "int8_t" => Type::Char,
        "int64_t" | "quad_t" => Type::Hyper,
        "uint64_t" | "u_int64_t" | "u_quad_t" => Type::UnsignedHyper,
        // The Solaris names libtirpc also has routines for (`xdr_longlong_t`).
        "longlong_t" => Type::Hyper,
        "u_longlong_t" => Type::UnsignedHyper,
        // rpc/xdr.h: `xdr_netobj` is `xdr_bytes` bounded by `MAX_NETOBJ_SZ` (1024).
        "netobj" => Type::VarOpaque(Some(Size {
            value: 1024,
            name: None,
        })),
        // rpc/auth.h: `xdr_des_block` is `xdr_opaque` of 8 bytes.
        "des_block" => Type::FixedOpaque(Size {
            value: 8,
            name: None,
        }),
        _ => return None,
    })
}

/// Turns type specifiers and declarations into model types.
pub(super) struct Resolver<'s, 'a> {
    /// The unit's definitions.
    pub syms: &'s Symbols<'a>,
    /// Rust module names by file index.
    pub module_names: &'s [String],
}

impl Resolver<'_, '_> {
    /// Builds every type of [`Symbols::types`], in the same order.
    pub fn build_all(&self, cx: &mut Cx, consts: &mut Consts) -> Vec<TypeDef> {
        self.syms
            .types
            .iter()
            .enumerate()
            .map(|(index, item)| self.build(cx, consts, index, item))
            .collect()
    }

    /// Builds one type.
    fn build(&self, cx: &mut Cx, consts: &mut Consts, index: usize, item: &TypeItem) -> TypeDef {
        let outer = &item.name.name;
        let kind = match item.body {
            Body::Alias(ty) => {
                TypeKind::Alias(self.decl_type(cx, consts, ty, outer, &item.name.name))
            }
            Body::Enum(body) => TypeKind::Enum(self.enumeration(cx, consts, index, body)),
            Body::Struct(body) => TypeKind::Struct(self.structure(cx, consts, outer, body)),
            Body::Union(body) => TypeKind::Union(self.union(cx, consts, outer, body)),
        };
        TypeDef {
            xdr_name: outer.clone(),
            rust_name: naming::type_name(outer),
            docs: cx.docs(item.doc, Some(item.span)),
            kind,
            recursive: false,
        }
    }

    /// An enum: every member's value, which must fit C's `int`.
    fn enumeration(
        &self,
        cx: &mut Cx,
        consts: &mut Consts,
        index: usize,
        body: &ast::EnumBody,
    ) -> model::Enum {
        let names: Vec<&str> = body.members.iter().map(|m| m.name.name.as_str()).collect();
        let rust = naming::variant_names(&names);
        let mut seen: std::collections::HashMap<i32, usize> = std::collections::HashMap::new();
        let mut members = Vec::with_capacity(body.members.len());
        for (i, (m, rust_name)) in body.members.iter().zip(rust).enumerate() {
            let value = consts
                .member(cx, self.syms, index, i)
                .map_or(0, |v| enum_value_in_range(cx, m, v));
            check_duplicate_enum_value(cx, body, &mut seen, i, value);
            members.push(model::EnumMember {
                xdr_name: m.name.name.clone(),
                rust_name,
                value,
                docs: cx.docs(Some(&m.doc), None),
            });
        }
        model::Enum { members }
    }

    /// A struct: its fields, none of them `void`.
    fn structure(
        &self,
        cx: &mut Cx,
        consts: &mut Consts,
        outer: &str,
        body: &ast::StructBody,
    ) -> model::Struct {
        let fields = body
            .fields
            .iter()
            .filter_map(|f| match &f.decl {
                // Rule: a struct field has a type; `void` is only for union arms.
                Declaration::Void { span } => {
                    cx.error(*span, "`void` is not allowed as a struct field");
                    None
                }
                Declaration::Named { .. } => self.field(cx, consts, outer, f),
            })
            .collect();
        model::Struct { fields }
    }

    /// A field or arm; `None` for `void`.
    pub fn field(
        &self,
        cx: &mut Cx,
        consts: &mut Consts,
        outer: &str,
        field: &ast::Field,
    ) -> Option<model::Field> {
        let Declaration::Named { name, ty, .. } = &field.decl else {
            return None;
        };
        Some(model::Field {
            xdr_name: name.name.clone(),
            rust_name: naming::field_name(&name.name),
            ty: self.decl_type(cx, consts, ty, outer, &name.name),
            docs: cx.docs(Some(&field.doc), None),
        })
    }

    /// The type of a declaration `outer.field`.
    pub fn decl_type(
        &self,
        cx: &mut Cx,
        consts: &mut Consts,
        ty: &DeclType,
        outer: &str,
        field: &str,
    ) -> Type {
        let anon = hoisted_name(outer, field);
        match ty {
            DeclType::Plain(s) => self.spec(cx, s, &anon),
            DeclType::FixedArray(s, n) => {
                Type::FixedArray(Box::new(self.spec(cx, s, &anon)), self.size(cx, consts, n))
            }
            DeclType::VarArray(s, n) => Type::VarArray(
                Box::new(self.spec(cx, s, &anon)),
                self.bound(cx, consts, n.as_ref()),
            ),
            DeclType::FixedOpaque(n) => Type::FixedOpaque(self.size(cx, consts, n)),
            DeclType::VarOpaque(n) => Type::VarOpaque(self.bound(cx, consts, n.as_ref())),
            DeclType::String(n) => Type::String(self.bound(cx, consts, n.as_ref())),
            DeclType::Optional(s) => Type::Optional {
                inner: Box::new(self.spec(cx, s, &anon)),
                boxed: false,
            },
        }
    }

    /// A variable-length bound (`<N>`, or `<>` for none).
    fn bound(&self, cx: &mut Cx, consts: &mut Consts, n: Option<&Value>) -> Option<Size> {
        n.map(|n| self.size(cx, consts, n))
    }

    /// Rule: a length or bound is 0..=u32::MAX. rpcgen accepts `<0>` and `[0]` (a zero-length
    /// fixed array is GNU C's; RFC 5531's own `accepted_reply` has `opaque results[0]`): it
    /// encodes as nothing.
    fn size(&self, cx: &mut Cx, consts: &mut Consts, n: &Value) -> Size {
        let name = consts.size_name(cx, self.syms, n);
        let value = match consts.value(cx, self.syms, n) {
            Some(v) if (0..=i128::from(u32::MAX)).contains(&v) => v as u32,
            Some(v) => {
                cx.error(
                    n.span(),
                    format!(
                        "a size must be between 0 and {}, but `{}` is {v}",
                        u32::MAX,
                        value_text(n)
                    ),
                );
                0
            }
            None => 0,
        };
        Size { value, name }
    }

    /// The type a specifier names; `anon` is the name its anonymous body was hoisted under.
    pub fn spec(&self, cx: &mut Cx, spec: &TypeSpec, anon: &str) -> Type {
        match spec {
            TypeSpec::Builtin { ty, span } => builtin(cx, *ty, *span),
            TypeSpec::Named(ident) => self.named(cx, &ident.name, ident.span),
            TypeSpec::Enum(..) | TypeSpec::Struct(..) | TypeSpec::Union(..) => {
                self.named(cx, anon, spec.span())
            }
        }
    }

    /// A reference to a type by name.
    pub fn named(&self, cx: &mut Cx, name: &str, span: Span) -> Type {
        match self.syms.get(name) {
            Some(Symbol::Type(i)) => Type::Named(self.type_ref(i)),
            Some(Symbol::Const(_) | Symbol::Member { .. } | Symbol::Text(_)) => {
                // Rule: a constant is not a type.
                cx.error(span, format!("`{name}` is a constant, not a type"));
                Type::Int
            }
            None => {
                if let Some(t) = libtirpc_builtin(name) {
                    return t;
                }
                if let Some(path) = cx.options.extern_types.get(name) {
                    return Type::Extern {
                        xdr_name: name.to_string(),
                        rust_path: path.clone(),
                    };
                }
                // Rule: every type used must be defined, known to libtirpc, or mapped by the user.
                cx.error_with(
                    span,
                    format!("undefined type `{name}`"),
                    &[format!(
                        "if it is defined in C, map it with --extern-type {name}=RUST_PATH"
                    )],
                );
                Type::Int
            }
        }
    }

    /// The model's reference to `types[i]`.
    pub fn type_ref(&self, i: usize) -> TypeRef {
        let item = &self.syms.types[i];
        TypeRef {
            xdr_name: item.name.name.clone(),
            rust_name: naming::type_name(&item.name.name),
            module: self.module_names[item.module].clone(),
        }
    }
}

/// A built-in type.
fn builtin(cx: &mut Cx, ty: Builtin, span: Span) -> Type {
    match ty {
        Builtin::Int => Type::Int,
        Builtin::UnsignedInt => Type::UnsignedInt,
        Builtin::Hyper => Type::Hyper,
        Builtin::UnsignedHyper => Type::UnsignedHyper,
        Builtin::Float => Type::Float,
        Builtin::Double => Type::Double,
        Builtin::Bool => Type::Bool,
        Builtin::Char => Type::Char,
        Builtin::UnsignedChar => Type::UnsignedChar,
        Builtin::Short => Type::Short,
        Builtin::UnsignedShort => Type::UnsignedShort,
        Builtin::Quadruple => {
            // Rule: Rust has no 128-bit float.
            cx.error(span, "quadruple (128-bit float) has no Rust type");
            Type::Double
        }
    }
}

/// Rule: enum values must fit C's `int` (rpcgen's enums are C enums), which is what goes on the
/// wire.
fn enum_value_in_range(cx: &mut Cx, m: &ast::EnumMember, v: i128) -> i32 {
    i32::try_from(v).unwrap_or_else(|_| {
        let span = m.value.as_ref().map_or(m.name.span, Value::span);
        cx.error(
            span,
            format!(
                "value {v} of enum member `{}` does not fit a 32-bit int",
                m.name.name
            ),
        );
        0
    })
}

/// Rule: two members of one enum sharing a value get a warning. C allows it and real files do it
/// (`nis_object.x` repeats every member with a `NIS_` prefix), so it is no error; but a Rust enum
/// cannot have two variants with one discriminant, so emitters make the later member an alias
/// (an associated constant) of the first, and decoding yields the first.
fn check_duplicate_enum_value(
    cx: &mut Cx,
    body: &ast::EnumBody,
    seen: &mut std::collections::HashMap<i32, usize>,
    i: usize,
    value: i32,
) {
    let m = &body.members[i];
    match seen.get(&value) {
        Some(&first) => {
            let f = &body.members[first];
            let note = format!(
                "`{}` is defined at {}",
                f.name.name,
                cx.location(f.name.span)
            );
            cx.warning(
                m.name.span,
                format!(
                    "enum member `{}` has the value {value} of `{}`, and becomes its alias",
                    m.name.name, f.name.name
                ),
                note,
            );
        }
        None => {
            seen.insert(value, i);
        }
    }
}

/// A value as written, for messages.
pub(super) fn value_text(v: &Value) -> String {
    match v {
        Value::Literal { value, .. } => value.to_string(),
        Value::Named(i) => i.name.clone(),
    }
}

/// Rule (warning): a typedef of a fixed array of `unsigned char` is `[u8; N]` in Rust, whose own
/// `Encode`/`Decode` (used when the typedef is passed to `to_bytes`/`from_bytes` alone) is
/// fixed-length opaque data; rpcgen sends `N` four-byte words. Inside structs and unions the
/// generated code sends the words, as rpcgen does. Almost always `opaque` is what was meant.
pub(super) fn warn_unsigned_char_array_typedefs(cx: &mut Cx, syms: &Symbols, defs: &[TypeDef]) {
    // Follows typedefs (a bounded number of steps: typedef cycles are errors elsewhere).
    fn resolve<'t>(defs: &'t [TypeDef], mut ty: &'t Type) -> &'t Type {
        for _ in 0..64 {
            let Type::Named(r) = ty else { break };
            match defs
                .iter()
                .find(|d| d.xdr_name == r.xdr_name)
                .map(|d| &d.kind)
            {
                Some(TypeKind::Alias(next)) => ty = next,
                _ => break,
            }
        }
        ty
    }
    for (item, def) in syms.types.iter().zip(defs) {
        let TypeKind::Alias(ty) = &def.kind else {
            continue;
        };
        if let Type::FixedArray(inner, _) = resolve(defs, ty) {
            if matches!(resolve(defs, inner), Type::UnsignedChar) {
                cx.warning(
                    item.name.span,
                    format!(
                        "`{}` is a fixed array of `unsigned char`: `to_bytes`/`from_bytes` on it \
                         alone treat its Rust type `[u8; N]` as `opaque[N]`, while rpcgen sends \
                         one word per element (as the generated code does inside other types)",
                        def.xdr_name
                    ),
                    "declare it `opaque` if bytes are meant".to_string(),
                );
            }
        }
    }
}
