//! Constants and type definitions: `pub const`, `pub type`, `pub struct` and `pub enum` (for
//! both `.x` enums and unions), with their docs, derives and small inherent impls.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, ToTokens as _};

use super::docs::{item_docs, member_docs};
use super::rust_type::rust_type;
use super::shape::{self, Shape};
use super::{ident, Ctx};
use crate::model::{
    Const, Enum, Field, Struct, TextConst, Type, TypeDef, TypeKind, Union, UnionCase,
};

/// `pub const NAME: T = value;` with the narrowest of `u32`, `i32`, `u64`, `i64`, `i128` that
/// holds the value (`u32` first, so sizes can be const generic arguments).
pub fn const_item(c: &Const) -> TokenStream {
    let name = ident(&c.rust_name);
    let docs = item_docs(&c.docs, &format!("XDR constant `{}`.", c.xdr_name));
    let v = c.value;
    let (ty, value) = if let Ok(v) = u32::try_from(v) {
        (quote!(u32), Literal::u32_unsuffixed(v))
    } else if let Ok(v) = i32::try_from(v) {
        (quote!(i32), Literal::i32_unsuffixed(v))
    } else if let Ok(v) = u64::try_from(v) {
        (quote!(u64), Literal::u64_unsuffixed(v))
    } else if let Ok(v) = i64::try_from(v) {
        (quote!(i64), Literal::i64_unsuffixed(v))
    } else {
        (quote!(i128), Literal::i128_unsuffixed(v))
    };
    quote! {
        #docs
        pub const #name: #ty = #value;
    }
}

/// `pub const NAME: &str = "text";`.
pub fn text_item(t: &TextConst) -> TokenStream {
    let name = ident(&t.rust_name);
    let docs = item_docs(&t.docs, &format!("XDR string constant `{}`.", t.xdr_name));
    let text = Literal::string(&t.text);
    quote! {
        #docs
        pub const #name: &str = #text;
    }
}

/// The type definition and its inherent impls.
pub fn type_items(cx: &Ctx<'_>, def: &TypeDef) -> TokenStream {
    let (attrs, errors) = user_attributes(cx, def);
    let items = match &def.kind {
        TypeKind::Alias(ty) => {
            let docs = item_docs(&def.docs, &format!("XDR typedef `{}`.", def.xdr_name));
            let name = ident(&def.rust_name);
            let ty = rust_type(cx, ty);
            quote! {
                #docs
                pub type #name = #ty;
            }
        }
        TypeKind::Enum(e) => enum_items(cx, def, e, &attrs),
        TypeKind::Struct(s) => struct_items(cx, def, s, &attrs),
        TypeKind::Union(u) => union_items(cx, def, u, &attrs),
    };
    quote!(#errors #items)
}

/// The attributes configured for this type (by `.x` name, or `.` for all), parsed. A text that
/// is not an attribute becomes a `compile_error!` item naming it (second value).
fn user_attributes(cx: &Ctx<'_>, def: &TypeDef) -> (TokenStream, TokenStream) {
    let mut attrs = TokenStream::new();
    let mut errors = TokenStream::new();
    let wanted = cx
        .options
        .type_attributes
        .iter()
        .filter(|(target, _)| target == "." || *target == def.xdr_name);
    for (_, text) in wanted {
        match syn::parse::Parser::parse_str(syn::Attribute::parse_outer, text) {
            Ok(parsed) => attrs.extend(quote!(#(#parsed)*)),
            Err(_) => {
                let msg = format!("xdrgen: type attribute `{text}` is not an attribute");
                errors.extend(quote!(::core::compile_error!(#msg);));
            }
        }
    }
    (attrs, errors)
}

fn enum_items(cx: &Ctx<'_>, def: &TypeDef, e: &Enum, attrs: &TokenStream) -> TokenStream {
    let rt = &cx.rt;
    let name = ident(&def.rust_name);
    let docs = item_docs(&def.docs, &format!("XDR enum `{}`.", def.xdr_name));
    let (variants, aliases) = enum_variants(e);
    let open = cx.options.enum_is_open(&def.xdr_name);
    let variant_tokens = variants.iter().map(|m| {
        let docs = member_docs(&m.docs, &format!("`{}` ({}).", m.xdr_name, m.value));
        let v = ident(&m.rust_name);
        let value = Literal::i32_unsuffixed(m.value);
        // An open enum's `Unknown(i32)` rules out discriminants; `From` impls map the values.
        if open {
            quote!(#docs #v,)
        } else {
            quote!(#docs #v = #value,)
        }
    });
    let alias_impl = if aliases.is_empty() {
        TokenStream::new()
    } else {
        let consts = aliases.iter().map(|(alias, target)| {
            let text = format!(
                "`{}` ({}): another name for [`Self::{}`].",
                alias.xdr_name, alias.value, target.rust_name
            );
            let docs = member_docs(&alias.docs, &text);
            let a = ident(&alias.rust_name);
            let t = ident(&target.rust_name);
            quote! {
                #docs
                #[allow(non_upper_case_globals)]
                pub const #a: Self = Self::#t;
            }
        });
        quote!(impl #name { #(#consts)* })
    };
    if open {
        let other = ident(&open_variant(&variants));
        let other_doc = format!(
            " A value no member of `{}` has (a newer peer's), re-encoded as it came.",
            def.xdr_name
        );
        let from_arms = variants.iter().map(|m| {
            let v = ident(&m.rust_name);
            let value = Literal::i32_unsuffixed(m.value);
            quote!(#value => Self::#v,)
        });
        let to_arms = variants.iter().map(|m| {
            let v = ident(&m.rust_name);
            let value = Literal::i32_unsuffixed(m.value);
            quote!(#name::#v => #value,)
        });
        return quote! {
            #docs
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
            #attrs
            pub enum #name {
                #(#variant_tokens)*
                #[doc = #other_doc]
                ///
                /// `From<i32>` makes this variant only for such values.
                #other(i32),
            }

            #alias_impl

            impl ::core::convert::From<i32> for #name {
                fn from(value: i32) -> Self {
                    match value {
                        #(#from_arms)*
                        other => Self::#other(other),
                    }
                }
            }

            impl ::core::convert::From<#name> for i32 {
                fn from(value: #name) -> i32 {
                    match value {
                        #(#to_arms)*
                        #name::#other(other) => other,
                    }
                }
            }
        };
    }
    let arms = variants.iter().map(|m| {
        let v = ident(&m.rust_name);
        let value = Literal::i32_unsuffixed(m.value);
        quote!(#value => Ok(Self::#v),)
    });
    let repr = if variants.is_empty() {
        TokenStream::new()
    } else {
        quote!(#[repr(i32)])
    };
    quote! {
        #docs
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #attrs
        #repr
        pub enum #name {
            #(#variant_tokens)*
        }

        #alias_impl

        impl ::core::convert::TryFrom<i32> for #name {
            type Error = #rt::Error;

            fn try_from(value: i32) -> ::core::result::Result<Self, #rt::Error> {
                match value {
                    #(#arms)*
                    _ => Err(#rt::Error::new(#rt::ErrorKind::UnknownEnumValue(value))),
                }
            }
        }

        impl ::core::convert::From<#name> for i32 {
            fn from(value: #name) -> i32 {
                value as i32
            }
        }
    }
}

/// The Rust name of an open enum's variant for values no member has.
pub fn open_variant(variants: &[&crate::model::EnumMember]) -> String {
    let names: Vec<&str> = variants.iter().map(|m| m.rust_name.as_str()).collect();
    crate::naming::open_enum_other_variant(&names)
}

/// Members that become variants (the first with each value) and the later duplicates, each with
/// the variant it repeats.
pub fn enum_variants(
    e: &Enum,
) -> (
    Vec<&crate::model::EnumMember>,
    Vec<(&crate::model::EnumMember, &crate::model::EnumMember)>,
) {
    let mut variants: Vec<&crate::model::EnumMember> = Vec::new();
    let mut aliases = Vec::new();
    for m in &e.members {
        match variants.iter().find(|v| v.value == m.value) {
            Some(first) => aliases.push((m, *first)),
            None => variants.push(m),
        }
    }
    (variants, aliases)
}

/// `Debug, Clone, PartialEq`, plus `Eq, Hash` when no float is reachable.
fn derives(cx: &Ctx<'_>, def: &TypeDef, manual_eq_clone: bool) -> TokenStream {
    let eq = !shape::def_has_float(cx.model, def);
    match (manual_eq_clone, eq) {
        // Hash is written by hand next to the hand-written PartialEq (clippy's
        // derived_hash_with_manual_eq), and Debug iteratively, in `list_impls`.
        (true, true) => quote!(#[derive(Eq)]),
        (true, false) => TokenStream::new(),
        (false, true) => quote!(#[derive(Debug, Clone, PartialEq, Eq, Hash)]),
        (false, false) => quote!(#[derive(Debug, Clone, PartialEq)]),
    }
}

fn field_tokens(cx: &Ctx<'_>, f: &Field) -> TokenStream {
    let docs = member_docs(&f.docs, &format!("XDR field `{}`.", f.xdr_name));
    let name = ident(&f.rust_name);
    let ty = rust_type(cx, &f.ty);
    quote!(#docs pub #name: #ty,)
}

fn struct_items(cx: &Ctx<'_>, def: &TypeDef, s: &Struct, attrs: &TokenStream) -> TokenStream {
    let name = ident(&def.rust_name);
    let link = shape::list_link(cx.model, def);
    let mut fallback = format!("XDR struct `{}`.", def.xdr_name);
    if link.is_some() {
        fallback.push_str(
            "\n\nA linked list: encoding, decoding, cloning, comparing, hashing, dropping and\n\
             `Debug` walk it in a loop, so long lists do not exhaust the stack. `Debug` prints\n\
             the nodes as a list, each with its data fields: `[Node { value: 1 }, Node { value: 2 }]`.",
        );
    }
    let docs = item_docs(&def.docs, &fallback);
    let derives = derives(cx, def, link.is_some());
    let fields = s.fields.iter().map(|f| field_tokens(cx, f));
    let list_impls = link.map(|i| list_impls(cx, def, s, i));
    quote! {
        #docs
        #derives
        #attrs
        pub struct #name {
            #(#fields)*
        }
        #list_impls
    }
}

/// `Clone`, `PartialEq`, `Debug` and `Drop` for a linked-list struct, walking the list in a
/// loop.
fn list_impls(cx: &Ctx<'_>, def: &TypeDef, s: &Struct, link: usize) -> TokenStream {
    let name = ident(&def.rust_name);
    let next = ident(&s.fields[link].rust_name);
    let data: Vec<&Field> = s.fields[..link].iter().collect();
    let names: Vec<_> = data.iter().map(|f| ident(&f.rust_name)).collect();
    let copies = data.iter().map(|f| {
        let n = ident(&f.rust_name);
        if shape::is_copy(cx.model, &f.ty) {
            quote!(#n: node.#n,)
        } else {
            quote!(#n: node.#n.clone(),)
        }
    });
    let copies = quote!(#(#copies)*);
    let differ = (!names.is_empty()).then(|| {
        quote! {
            if #(a.#names != b.#names)||* {
                return false;
            }
        }
    });
    let hash = (!shape::def_has_float(cx.model, def)).then(|| {
        quote! {
            impl ::core::hash::Hash for #name {
                fn hash<H: ::core::hash::Hasher>(&self, state: &mut H) {
                    let mut cursor = Some(self);
                    while let Some(node) = cursor {
                        #(::core::hash::Hash::hash(&node.#names, state);)*
                        cursor = node.#next.as_deref();
                    }
                }
            }
        }
    });
    let type_name = def.rust_name.trim_start_matches("r#");
    let field_names = data.iter().map(|f| f.rust_name.trim_start_matches("r#"));
    let debug = quote! {
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                // One entry per node, in a loop: the derived Debug recursed once per element.
                struct Node<'a>(&'a #name);
                impl ::core::fmt::Debug for Node<'_> {
                    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.debug_struct(#type_name)
                            #(.field(#field_names, &self.0.#names))*
                            .finish()
                    }
                }
                let mut list = f.debug_list();
                let mut cursor = Some(self);
                while let Some(node) = cursor {
                    list.entry(&Node(node));
                    cursor = node.#next.as_deref();
                }
                list.finish()
            }
        }
    };
    quote! {
        #hash

        #debug

        impl ::core::clone::Clone for #name {
            fn clone(&self) -> Self {
                let copy = |node: &Self| Self { #copies #next: None };
                let mut head = copy(self);
                let mut tail = &mut head.#next;
                let mut source = self.#next.as_deref();
                while let Some(node) = source {
                    tail = &mut tail.insert(::std::boxed::Box::new(copy(node))).#next;
                    source = node.#next.as_deref();
                }
                head
            }
        }

        impl ::core::cmp::PartialEq for #name {
            fn eq(&self, other: &Self) -> bool {
                let (mut a, mut b) = (self, other);
                loop {
                    #differ
                    match (a.#next.as_deref(), b.#next.as_deref()) {
                        (Some(x), Some(y)) => (a, b) = (x, y),
                        (None, None) => return true,
                        _ => return false,
                    }
                }
            }
        }

        impl ::core::ops::Drop for #name {
            fn drop(&mut self) {
                // Unlink node by node: the derived drop would recurse once per element.
                let mut next = self.#next.take();
                while let Some(mut node) = next {
                    next = node.#next.take();
                }
            }
        }
    }
}

/// The Rust type of a union's discriminant.
pub fn discriminant_type(cx: &Ctx<'_>, u: &Union) -> TokenStream {
    rust_type(cx, &u.discriminant)
}

/// The expression of a case label's value as the discriminant's Rust type.
pub fn case_value(cx: &Ctx<'_>, u: &Union, case: &UnionCase) -> TokenStream {
    match shape::resolve(cx.model, &u.discriminant) {
        Shape::Def(TypeDef {
            kind: TypeKind::Enum(e),
            ..
        }) => {
            let ty = discriminant_type(cx, u);
            let member = enum_variants(e)
                .0
                .into_iter()
                .find(|m| i128::from(m.value) == case.value);
            match member {
                Some(m) => {
                    let v = ident(&m.rust_name);
                    quote!(#ty::#v)
                }
                None => {
                    let msg = format!("xdrgen: case {} is not a member of the enum", case.value);
                    quote!(::core::compile_error!(#msg))
                }
            }
        }
        Shape::Plain(Type::Bool) => {
            if case.value == 0 {
                quote!(false)
            } else {
                quote!(true)
            }
        }
        Shape::Plain(Type::UnsignedInt) => {
            Literal::u32_unsuffixed(u32::try_from(case.value).unwrap_or_default())
                .into_token_stream()
        }
        _ => Literal::i32_unsuffixed(i32::try_from(case.value).unwrap_or_default())
            .into_token_stream(),
    }
}

fn union_items(cx: &Ctx<'_>, def: &TypeDef, u: &Union, attrs: &TokenStream) -> TokenStream {
    let name = ident(&def.rust_name);
    let docs = item_docs(&def.docs, &format!("XDR union `{}`.", def.xdr_name));
    let derives = derives(cx, def, false);
    let d = discriminant_type(cx, u);
    let variants = u.cases.iter().map(|c| {
        let label = c.label.clone().unwrap_or_else(|| c.value.to_string());
        let docs = member_docs(&c.docs, &format!("`case {label}:`."));
        let v = ident(&c.rust_name);
        match &c.field {
            Some(f) => {
                let ty = rust_type(cx, &f.ty);
                quote!(#docs #v(#ty),)
            }
            None => quote!(#docs #v,),
        }
    });
    let default_variant = match &u.default {
        None => TokenStream::new(),
        Some(None) => quote! {
            /// `default:` (no value): any discriminant no case names.
            Default(#d),
        },
        Some(Some(f)) => {
            let ty = rust_type(cx, &f.ty);
            quote! {
                /// `default:`: any discriminant no case names, and the arm's value.
                Default(#d, #ty),
            }
        }
    };
    let arms = u.cases.iter().map(|c| {
        let v = ident(&c.rust_name);
        let value = case_value(cx, u, c);
        if c.field.is_some() {
            quote!(Self::#v(_) => #value,)
        } else {
            quote!(Self::#v => #value,)
        }
    });
    let default_arm = u
        .default
        .as_ref()
        .map(|_| quote!(Self::Default(discriminant, ..) => *discriminant,));
    let disc_doc = format!(
        " The discriminant (`{}`) this value has on the wire.",
        u.discriminant_name
    );
    quote! {
        #docs
        #derives
        #attrs
        pub enum #name {
            #(#variants)*
            #default_variant
        }

        impl #name {
            #[doc = #disc_doc]
            pub fn discriminant(&self) -> #d {
                match self {
                    #(#arms)*
                    #default_arm
                }
            }
        }
    }
}
