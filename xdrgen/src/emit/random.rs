//! `Random` impls: values that respect every bound, for property and differential tests.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::rust_type::bound_expr;
use super::shape::{self, Shape};
use super::types::{case_value, enum_variants};
use super::{ident, Ctx, RandomImpls};
use crate::model::{Type, TypeDef, TypeKind, Union};

/// The `Random` impl for a type definition, per [`super::Options::random`] (none for aliases).
pub fn random_items(cx: &Ctx<'_>, def: &TypeDef) -> TokenStream {
    let cfg = match &cx.options.random {
        RandomImpls::No => return TokenStream::new(),
        RandomImpls::Yes => TokenStream::new(),
        RandomImpls::Feature(f) => quote!(#[cfg(feature = #f)]),
    };
    let rt = &cx.rt;
    let name = ident(&def.rust_name);
    let body = match &def.kind {
        TypeKind::Alias(_) => return TokenStream::new(),
        TypeKind::Enum(e) => {
            let members: Vec<_> = enum_variants(e)
                .0
                .iter()
                .map(|m| {
                    let v = ident(&m.rust_name);
                    quote!(Self::#v)
                })
                .collect();
            if cx.options.enum_is_open(&def.xdr_name) {
                open_pick(&members)
            } else {
                pick(&members)
            }
        }
        TypeKind::Struct(s) => {
            let inits = s.fields.iter().map(|f| {
                let name = ident(&f.rust_name);
                let value = random_value(cx, &f.ty);
                quote!(#name: #value,)
            });
            quote!(Self { #(#inits)* })
        }
        TypeKind::Union(u) => random_union(cx, u),
    };
    // A one-member enum (or a struct of no fields) draws nothing from the generator.
    let g = if mentions(&body, "g") {
        quote!(g)
    } else {
        quote!(_g)
    };
    quote! {
        #cfg
        impl #rt::Random for #name {
            fn random(#g: &mut #rt::Gen) -> Self {
                #body
            }
        }
    }
}

/// One of an open enum's `members`, or (as often as any one member) a random word, which is
/// almost never a member's value.
fn open_pick(members: &[TokenStream]) -> TokenStream {
    let other = quote!(Self::from(g.next_u32() as i32));
    if members.is_empty() {
        return other;
    }
    let n = Literal::u64_unsuffixed(members.len() as u64 + 1);
    quote! {
        match [#(#members),*].get(g.below(#n) as usize) {
            Some(member) => *member,
            None => #other,
        }
    }
}

/// True when `tokens` contain the identifier `name` anywhere.
fn mentions(tokens: &TokenStream, name: &str) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(i) => i == name,
        proc_macro2::TokenTree::Group(g) => mentions(&g.stream(), name),
        _ => false,
    })
}

/// One of `choices`, uniformly.
fn pick(choices: &[TokenStream]) -> TokenStream {
    match choices {
        [] => quote!(unreachable!("an enum without members has no values")),
        [one] => quote!(#one),
        _ => {
            let n = Literal::u64_unsuffixed(choices.len() as u64);
            quote!([#(#choices),*][g.below(#n) as usize])
        }
    }
}

/// A discriminant for the `default:` arm: any value no case label names.
fn default_discriminant(cx: &Ctx<'_>, u: &Union) -> Option<TokenStream> {
    let rt = &cx.rt;
    let has = |v: i128| u.cases.iter().any(|c| c.value == v);
    match shape::resolve(cx.model, &u.discriminant) {
        Shape::Def(TypeDef {
            kind: TypeKind::Enum(e),
            ..
        }) => {
            let ty = super::types::discriminant_type(cx, u);
            let free: Vec<_> = enum_variants(e)
                .0
                .iter()
                .filter(|m| !has(i128::from(m.value)))
                .map(|m| {
                    let v = ident(&m.rust_name);
                    quote!(#ty::#v)
                })
                .collect();
            (!free.is_empty()).then(|| pick(&free))
        }
        Shape::Plain(Type::Bool) => match (has(0), has(1)) {
            (true, true) => None,
            (true, false) => Some(quote!(true)),
            (false, true) => Some(quote!(false)),
            (false, false) => Some(quote!(g.gen_bool())),
        },
        _ if u.cases.is_empty() => Some(quote!(#rt::Random::random(g))),
        _ => {
            let labels = u.cases.iter().map(|c| case_value(cx, u, c));
            // Labels are few, so a random word is almost never one of them.
            Some(quote! {
                loop {
                    match #rt::Random::random(g) {
                        #(#labels)|* => {}
                        d => break d,
                    }
                }
            })
        }
    }
}

fn random_union(cx: &Ctx<'_>, u: &Union) -> TokenStream {
    let mut arms: Vec<TokenStream> = u
        .cases
        .iter()
        .map(|c| {
            let v = ident(&c.rust_name);
            match &c.field {
                Some(f) => {
                    let value = random_value(cx, &f.ty);
                    quote!(Self::#v(#value))
                }
                None => quote!(Self::#v),
            }
        })
        .collect();
    if let (Some(default), Some(d)) = (&u.default, default_discriminant(cx, u)) {
        arms.push(match default {
            Some(f) => {
                let value = random_value(cx, &f.ty);
                quote!(Self::Default(#d, #value))
            }
            None => quote!(Self::Default(#d)),
        });
    }
    match arms.as_slice() {
        [] => quote!(unreachable!("a union without arms has no values")),
        [one] => one.clone(),
        _ => {
            let last = arms.len() - 1;
            let n = Literal::u64_unsuffixed(arms.len() as u64);
            let numbered = arms[..last].iter().enumerate().map(|(i, arm)| {
                let i = Literal::u64_unsuffixed(i as u64);
                quote!(#i => #arm,)
            });
            let last = &arms[last];
            quote! {
                match g.below(#n) {
                    #(#numbered)*
                    _ => #last,
                }
            }
        }
    }
}

/// A function from the generator to a random value of type `ty`: a path when one exists (clippy
/// rejects closures that only call a function), else a closure.
fn random_fn(cx: &Ctx<'_>, ty: &Type) -> TokenStream {
    let rt = &cx.rt;
    match shape::resolve(cx.model, ty) {
        Shape::Plain(Type::FixedOpaque(_)) => quote!(#rt::random_fixed_opaque),
        Shape::Plain(Type::FixedArray(..) | Type::VarArray(..) | Type::Optional { .. }) => {
            let each = random_value(cx, ty);
            quote!(|g| #each)
        }
        _ => quote!(#rt::Random::random),
    }
}

/// An expression producing a random value of type `ty` from `g`.
fn random_value(cx: &Ctx<'_>, ty: &Type) -> TokenStream {
    let rt = &cx.rt;
    let ty = match shape::resolve(cx.model, ty) {
        Shape::Def(_) => return quote!(#rt::Random::random(g)),
        Shape::Plain(ty) => ty,
    };
    match ty {
        Type::FixedOpaque(_) => quote!(#rt::random_fixed_opaque(g)),
        Type::FixedArray(inner, _) => {
            let each = random_value(cx, inner);
            quote!(::core::array::from_fn(|_| #each))
        }
        Type::VarArray(inner, size) if shape::holds_recursive(cx.model, inner) => {
            // Trees: at most two children per level, and none past the depth limit, so the
            // value stays small.
            let bound = Literal::u32_unsuffixed(size.as_ref().map_or(2, |s| s.value.min(2)));
            let each = random_fn(cx, inner);
            quote! {
                if g.some() {
                    g.enter();
                    let items = #rt::random_vec(g, #bound, #each);
                    g.leave();
                    #rt::VarArray::new(items).expect("random_vec stays within the bound")
                } else {
                    #rt::VarArray::default()
                }
            }
        }
        Type::VarArray(inner, size) => {
            let bound = bound_expr(cx, size.as_ref());
            let each = random_fn(cx, inner);
            quote! {
                #rt::VarArray::new(#rt::random_vec(g, #bound, #each))
                    .expect("random_vec stays within the bound")
            }
        }
        Type::Optional { inner, boxed } => {
            let each = random_value(cx, inner);
            let each = if *boxed {
                quote!(::std::boxed::Box::new(#each))
            } else {
                each
            };
            quote! {
                if g.some() {
                    g.enter();
                    let value = #each;
                    g.leave();
                    Some(value)
                } else {
                    None
                }
            }
        }
        _ => quote!(#rt::Random::random(g)),
    }
}
