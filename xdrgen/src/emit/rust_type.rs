//! [`Type`] → the Rust type that holds it, as tokens.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, ToTokens as _};

use super::{ident, Ctx, StringMode};
use crate::model::{Size, Type, TypeRef};

/// The Rust type of a declaration of type `ty` in the current module.
pub fn rust_type(cx: &Ctx<'_>, ty: &Type) -> TokenStream {
    let rt = &cx.rt;
    match ty {
        Type::Int => quote!(i32),
        Type::UnsignedInt => quote!(u32),
        Type::Hyper => quote!(i64),
        Type::UnsignedHyper => quote!(u64),
        Type::Float => quote!(f32),
        Type::Double => quote!(f64),
        Type::Bool => quote!(bool),
        Type::Char => quote!(i8),
        Type::UnsignedChar => quote!(u8),
        Type::Short => quote!(i16),
        Type::UnsignedShort => quote!(u16),
        Type::Named(r) => type_ref(cx, r),
        Type::Extern { rust_path, .. } => match syn::parse_str::<syn::Type>(rust_path) {
            Ok(path) => quote!(#path),
            Err(_) => {
                let msg = format!("xdrgen: extern type path `{rust_path}` is not a Rust type");
                quote!(::core::compile_error!(#msg))
            }
        },
        Type::FixedOpaque(n) => {
            let n = usize_size(cx, n);
            quote!([u8; #n])
        }
        Type::VarOpaque(None) => quote!(#rt::Opaque),
        Type::VarOpaque(Some(b)) => {
            let b = bound(cx, b);
            quote!(#rt::Opaque<#b>)
        }
        Type::String(b) => {
            let holder = match cx.strings {
                StringMode::Utf8 => quote!(#rt::XdrString),
                StringMode::Bytes => quote!(#rt::XdrBytes),
            };
            match b {
                None => holder,
                Some(b) => {
                    let b = bound(cx, b);
                    quote!(#holder<#b>)
                }
            }
        }
        Type::FixedArray(inner, n) => {
            let inner = rust_type(cx, inner);
            let n = usize_size(cx, n);
            quote!([#inner; #n])
        }
        Type::VarArray(inner, None) => {
            let inner = rust_type(cx, inner);
            quote!(#rt::VarArray<#inner>)
        }
        Type::VarArray(inner, Some(b)) => {
            let inner = rust_type(cx, inner);
            let b = bound(cx, b);
            quote!(#rt::VarArray<#inner, #b>)
        }
        Type::Optional { inner, boxed } => {
            let inner = rust_type(cx, inner);
            if *boxed {
                quote!(::core::option::Option<::std::boxed::Box<#inner>>)
            } else {
                quote!(::core::option::Option<#inner>)
            }
        }
    }
}

/// A named type, qualified with `super::module::` when another module defines it.
pub fn type_ref(cx: &Ctx<'_>, r: &TypeRef) -> TokenStream {
    let name = ident(&r.rust_name);
    if r.module == cx.module.name {
        quote!(#name)
    } else {
        let module = ident(&r.module);
        quote!(super::#module::#name)
    }
}

/// A size's constant (qualified when another module defines it, or when it is a user constant
/// at the top of the output), or `None` when it was written as a number or its constant is not
/// emitted anywhere.
fn size_const(cx: &Ctx<'_>, size: &Size) -> Option<(TokenStream, bool)> {
    let name = size.name.as_deref()?;
    let const_ident = ident(name);
    if cx.module.consts.iter().any(|c| c.rust_name == name) {
        return Some((quote!(#const_ident), false));
    }
    if cx.model.user_constants.iter().any(|c| c.rust_name == name) {
        return Some((quote!(super::#const_ident), true));
    }
    let other = cx
        .model
        .modules
        .iter()
        .find(|m| m.consts.iter().any(|c| c.rust_name == name))?;
    let module = ident(&other.name);
    Some((quote!(super::#module::#const_ident), true))
}

/// A `u32` bound for a const generic argument: `REMOTE_STRING_MAX`, `{ super::m::MAX }` or `64`.
pub fn bound(cx: &Ctx<'_>, size: &Size) -> TokenStream {
    match size_const(cx, size) {
        // A multi-segment path as a const argument needs braces to parse as an expression.
        Some((path, true)) => quote!({ #path }),
        Some((path, false)) => path,
        None => Literal::u32_unsuffixed(size.value).into_token_stream(),
    }
}

/// A `u32` bound as an expression (no braces needed): `REMOTE_STRING_MAX` or `64`.
pub fn bound_expr(cx: &Ctx<'_>, size: Option<&Size>) -> TokenStream {
    match size {
        None => quote!(u32::MAX),
        Some(size) => size_const(cx, size)
            .map(|(path, _)| path)
            .unwrap_or_else(|| Literal::u32_unsuffixed(size.value).into_token_stream()),
    }
}

/// An array length: `VIR_UUID_BUFLEN as usize` (constants are `u32`) or `16`.
pub fn usize_size(cx: &Ctx<'_>, size: &Size) -> TokenStream {
    match size_const(cx, size) {
        Some((path, _)) => quote!(#path as usize),
        None => Literal::usize_unsuffixed(size.value as usize).into_token_stream(),
    }
}
