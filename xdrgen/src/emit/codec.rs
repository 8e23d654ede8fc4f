//! `Encode` / `Decode` impls.
//!
//! The runtime encodes scalars, strings and opaque data; every composite shape (fixed and
//! variable arrays, optional data, fixed opaque) is encoded here structurally, after following
//! aliases to the real shape. Each fallible call maps its error to the field it belongs to.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, ToTokens as _};

use super::rust_type::bound_expr;
use super::shape::{self, Shape};
use super::types::{case_value, discriminant_type, enum_variants};
use super::{ident, Ctx};
use crate::model::{Field, Struct, Type, TypeDef, TypeKind, Union};

/// A value being encoded: a place (`self.x`) or a reference (`item`).
#[derive(Clone)]
struct Value {
    tokens: TokenStream,
    is_ref: bool,
}

impl Value {
    fn place(tokens: TokenStream) -> Self {
        Value {
            tokens,
            is_ref: false,
        }
    }
    fn reference(tokens: TokenStream) -> Self {
        Value {
            tokens,
            is_ref: true,
        }
    }
    /// The value itself (for `Copy` scalars).
    fn get(&self) -> TokenStream {
        let t = &self.tokens;
        if self.is_ref {
            quote!(*#t)
        } else {
            t.clone()
        }
    }
    /// A reference to the value.
    fn by_ref(&self) -> TokenStream {
        let t = &self.tokens;
        if self.is_ref {
            t.clone()
        } else {
            quote!(&#t)
        }
    }
    /// The expression, for method calls (auto-referenced).
    fn expr(&self) -> &TokenStream {
        &self.tokens
    }
}

/// `.map_err(|e| e.at("name"))`: puts a field or type name on an error's path.
fn at(name: &str) -> TokenStream {
    quote!(.map_err(|e| e.at(#name)))
}

/// An encoded length: a sum of a constant and run-time terms.
#[derive(Default)]
struct Len {
    fixed: usize,
    terms: Vec<TokenStream>,
}

impl Len {
    fn add(&mut self, other: Len) {
        // The checker keeps types far below this; a hand-made model must not panic here (rustc
        // rejects a type of that size anyway).
        self.fixed = self.fixed.saturating_add(other.fixed);
        self.terms.extend(other.terms);
    }
    fn constant(n: usize) -> Len {
        Len {
            fixed: n,
            terms: Vec::new(),
        }
    }
    fn term(t: TokenStream) -> Len {
        Len {
            fixed: 0,
            terms: vec![t],
        }
    }
    fn tokens(&self) -> TokenStream {
        let terms = &self.terms;
        match (self.fixed, terms.is_empty()) {
            (n, true) => Literal::usize_unsuffixed(n).into_token_stream(),
            // `if a { 8 } else { 4 } + rest` at the start of a fn body parses as an `if`
            // statement followed by `+rest`: parenthesise a leading `if` when a sum follows.
            (0, false) if terms.len() > 1 && starts_with_if(&terms[0]) => {
                let (first, rest) = (&terms[0], &terms[1..]);
                quote!((#first) #(+ #rest)*)
            }
            (0, false) => quote!(#(#terms)+*),
            (n, false) => {
                let n = Literal::usize_unsuffixed(n);
                quote!(#n #(+ #terms)*)
            }
        }
    }
}

/// Whether an expression starts with the `if` keyword.
fn starts_with_if(t: &TokenStream) -> bool {
    matches!(t.clone().into_iter().next(), Some(proc_macro2::TokenTree::Ident(i)) if i == "if")
}

/// The largest encoded size of a fixed-size struct whose `encode` is marked `#[inline]`.
const SMALL_FIXED: usize = 64;

/// The `Encode` and `Decode` impls for a type definition (none for aliases).
pub fn codec_items(cx: &Ctx<'_>, def: &TypeDef) -> TokenStream {
    let rt = &cx.rt;
    let name = ident(&def.rust_name);
    let (len, encode, decode) = match &def.kind {
        TypeKind::Alias(_) => return TokenStream::new(),
        TypeKind::Enum(_) if cx.options.enum_is_open(&def.xdr_name) => {
            let at = at(&def.xdr_name);
            (
                quote!(4),
                quote!(out.put_i32(i32::from(*self)); Ok(())),
                quote!(input.get_i32().map(Self::from)#at),
            )
        }
        TypeKind::Enum(_) => {
            let at = at(&def.xdr_name);
            (
                quote!(4),
                quote!(out.put_i32(i32::from(*self)); Ok(())),
                quote! {
                    let value = input.get_i32()#at?;
                    Self::try_from(value)#at
                },
            )
        }
        TypeKind::Struct(s) => match shape::list_link(cx.model, def) {
            Some(link) => list_codec(cx, s, link),
            None => struct_codec(cx, def, s),
        },
        TypeKind::Union(u) => union_codec(cx, def, u),
    };
    let result = quote!(::core::result::Result);
    // An inlined decoder's body closure is forced inline as well: in a crate as large as
    // libvirt's bindings the compiler otherwise kept it a call per array element.
    let (decode_inline, decode_body_inline) = if cx.inlined.contains(&def.xdr_name) {
        (quote!(#[inline]), quote!(#[inline(always)]))
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    // A small fixed-size struct (a packet header, a reply of a few scalars) encodes in a few
    // stores: inlined into its caller, it costs no call (issue 13's header encode).
    let encode_inline = (matches!(def.kind, TypeKind::Struct(_))
        && cx
            .sizes
            .fixed_def_size(def)
            .is_some_and(|size| size <= SMALL_FIXED))
    .then(|| quote!(#[inline]));
    // Errors leave a struct or union with its name on their path (fields add theirs inside);
    // an enum names itself in its one statement.
    let (encode, decode) = match &def.kind {
        TypeKind::Enum(_) => (encode, decode),
        _ => {
            let type_name = &def.xdr_name;
            let encode = if can_fail(&encode) {
                quote!(out.within(#type_name, |out| { #encode }))
            } else {
                encode
            };
            (
                encode,
                quote!(input.within(#type_name, #decode_body_inline |input| { #decode })),
            )
        }
    };
    quote! {
        impl #rt::Encode for #name {
            fn encoded_len(&self) -> usize {
                #len
            }

            #encode_inline
            fn encode(&self, out: &mut #rt::Encoder) -> #result<(), #rt::Error> {
                #encode
            }
        }

        impl #rt::Decode for #name {
            #decode_inline
            fn decode(input: &mut #rt::Decoder<'_>) -> #result<Self, #rt::Error> {
                #decode
            }
        }
    }
}

/// Whether statements can return an error (hold a `?` or name `Err`).
fn can_fail(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Punct(p) => p.as_char() == '?',
        proc_macro2::TokenTree::Ident(i) => i == "Err",
        proc_macro2::TokenTree::Group(g) => can_fail(&g.stream()),
        proc_macro2::TokenTree::Literal(_) => false,
    })
}

/// A decode body: `prelude` statements then the value `expr`, inside the decoder's depth guard
/// for recursive types.
fn depth_guarded(def: &TypeDef, prelude: TokenStream, expr: TokenStream) -> TokenStream {
    if !def.recursive {
        return quote!(#prelude Ok(#expr));
    }
    quote! {
        input.nested(|input| {
            #prelude
            Ok(#expr)
        })
    }
}

fn struct_codec(
    cx: &Ctx<'_>,
    def: &TypeDef,
    s: &Struct,
) -> (TokenStream, TokenStream, TokenStream) {
    let (len, encode, inits) = fields_codec(cx, &s.fields, &quote!(self));
    let len = len.tokens();
    let decode = depth_guarded(def, TokenStream::new(), quote!(Self { #inits }));
    (len, quote!(#encode Ok(())), decode)
}

/// For struct fields read from `owner` (`self`, or a list's `node`): their encoded length,
/// the statements that encode them, and the `name: value,` initialisers that decode them.
///
/// Two or more consecutive scalar fields are encoded as one run ([`scalar_run`]).
fn fields_codec(
    cx: &Ctx<'_>,
    fields: &[Field],
    owner: &TokenStream,
) -> (Len, TokenStream, TokenStream) {
    let mut len = Len::default();
    let mut encode = TokenStream::new();
    let mut inits = TokenStream::new();
    // The scalar fields seen since the last other field.
    let mut run: Vec<ScalarPut> = Vec::new();
    for f in fields {
        let name = ident(&f.rust_name);
        let at = at(&f.xdr_name);
        let value = Value::place(quote!(#owner.#name));
        len.add(len_of(cx, &f.ty, &value));
        match scalar_put(cx, &f.ty, &value) {
            Some(put) => run.push(put),
            None => {
                encode.extend(scalar_run(cx, std::mem::take(&mut run)));
                encode.extend(encode_value(cx, &f.ty, &value, &at));
            }
        }
        let decode = decode_value(cx, &f.ty, &at);
        inits.extend(quote!(#name: #decode,));
    }
    encode.extend(scalar_run(cx, run));
    (len, encode, inits)
}

/// A scalar field's write: the `put_*` method (of both `Encoder` and `Words`), its argument,
/// and the encoded size.
type ScalarPut = (&'static str, TokenStream, usize);

/// How to write `value` of type `ty` when it is a scalar (an integer, float, `bool` or enum).
fn scalar_put(cx: &Ctx<'_>, ty: &Type, value: &Value) -> Option<ScalarPut> {
    let v = value.get();
    let ty = match shape::resolve(cx.model, ty) {
        Shape::Def(TypeDef {
            kind: TypeKind::Enum(_),
            ..
        }) => return Some(("put_i32", quote!(i32::from(#v)), 4)),
        Shape::Def(_) => return None,
        Shape::Plain(ty) => ty,
    };
    Some(match ty {
        Type::Int => ("put_i32", v, 4),
        Type::UnsignedInt => ("put_u32", v, 4),
        Type::Hyper => ("put_i64", v, 8),
        Type::UnsignedHyper => ("put_u64", v, 8),
        Type::Float => ("put_f32", v, 4),
        Type::Double => ("put_f64", v, 8),
        Type::Bool => ("put_bool", v, 4),
        // C sign-extends char and short into the 4-byte word.
        Type::Char | Type::Short => ("put_i32", quote!(i32::from(#v)), 4),
        Type::UnsignedChar | Type::UnsignedShort => ("put_u32", quote!(u32::from(#v)), 4),
        _ => return None,
    })
}

/// Statements that encode consecutive scalar fields: two or more are written into a `Words`
/// on the stack and appended at once (one capacity check and one copy for the run instead of
/// one per field, which halved the instructions of encoding libvirt's 24-byte header); a
/// single one is written directly.
fn scalar_run(cx: &Ctx<'_>, run: Vec<ScalarPut>) -> TokenStream {
    let rt = &cx.rt;
    let put = |target: TokenStream| -> TokenStream {
        run.iter()
            .map(|(method, arg, _)| {
                let method = ident(method);
                quote!(#target.#method(#arg);)
            })
            .collect()
    };
    match run.len() {
        0 => TokenStream::new(),
        1 => put(quote!(out)),
        _ => {
            let size = Literal::usize_unsuffixed(run.iter().map(|(_, _, n)| n).sum());
            let puts = put(quote!(run));
            quote! {
                let mut run = #rt::Words::<#size>::new();
                #puts
                out.put_words(&run);
            }
        }
    }
}

/// A linked list (last field `Option<Box<Self>>`): loops instead of recursing per element.
fn list_codec(cx: &Ctx<'_>, s: &Struct, link: usize) -> (TokenStream, TokenStream, TokenStream) {
    let rt = &cx.rt;
    let next_field = &s.fields[link];
    let next = ident(&next_field.rust_name);
    let next_at = at(&next_field.xdr_name);
    let (data_len, encode, inits) = fields_codec(cx, &s.fields[..link], &quote!(node));
    // Each node's data, then the flag that says whether another node follows.
    let mut node_len = Len::constant(4);
    node_len.add(data_len);
    let node_len = node_len.tokens();
    let len = quote! {
        let mut len = 0;
        let mut cursor = Some(self);
        while let Some(node) = cursor {
            len += #node_len;
            cursor = node.#next.as_deref();
        }
        len
    };
    let encode = quote! {
        let mut node = self;
        loop {
            #encode
            match node.#next.as_deref() {
                Some(next) => {
                    out.put_bool(true);
                    node = next;
                }
                None => {
                    out.put_bool(false);
                    return Ok(());
                }
            }
        }
    };
    let decode = quote! {
        // One level of depth for the whole list, so other recursion inside still counts.
        input.nested(|input| {
            let node = |input: &mut #rt::Decoder<'_>| -> ::core::result::Result<(Self, bool), #rt::Error> {
                let node = Self { #inits #next: None };
                Ok((node, input.get_bool()#next_at?))
            };
            let (mut head, mut more) = node(input)?;
            let mut tail = &mut head.#next;
            while more {
                let (next, next_more) = node(input)?;
                more = next_more;
                tail = &mut tail.insert(::std::boxed::Box::new(next)).#next;
            }
            Ok(head)
        })
    };
    (len, encode, decode)
}

/// Writes the discriminant (a value of the discriminant's Rust type).
fn encode_discriminant(cx: &Ctx<'_>, u: &Union, value: TokenStream) -> TokenStream {
    match shape::resolve(cx.model, &u.discriminant) {
        Shape::Def(_) => quote!(out.put_i32(i32::from(#value));),
        Shape::Plain(Type::Bool) => quote!(out.put_bool(#value);),
        Shape::Plain(Type::UnsignedInt) => quote!(out.put_u32(#value);),
        // One word each, as C widens them (a char sign-extended).
        Shape::Plain(Type::UnsignedChar | Type::UnsignedShort) => {
            quote!(out.put_u32(u32::from(#value));)
        }
        Shape::Plain(Type::Char | Type::Short) => quote!(out.put_i32(i32::from(#value));),
        Shape::Plain(_) => quote!(out.put_i32(#value);),
    }
}

/// The discriminant as an `i64`, for `UnknownDiscriminant`.
fn discriminant_i64(cx: &Ctx<'_>, u: &Union, value: TokenStream) -> TokenStream {
    match shape::resolve(cx.model, &u.discriminant) {
        Shape::Def(_) => quote!(i64::from(i32::from(#value))),
        _ => quote!(i64::from(#value)),
    }
}

/// Whether the case labels name every value of the discriminant's type (never all of an open
/// enum's).
fn cases_cover_all(cx: &Ctx<'_>, u: &Union) -> bool {
    let has = |v: i128| u.cases.iter().any(|c| c.value == v);
    match shape::resolve(cx.model, &u.discriminant) {
        Shape::Def(TypeDef {
            kind: TypeKind::Enum(e),
            xdr_name,
            ..
        }) => {
            !cx.options.enum_is_open(xdr_name)
                && enum_variants(e).0.iter().all(|m| has(i128::from(m.value)))
        }
        Shape::Plain(Type::Bool) => has(0) && has(1),
        _ => false,
    }
}

fn union_codec(cx: &Ctx<'_>, def: &TypeDef, u: &Union) -> (TokenStream, TokenStream, TokenStream) {
    let rt = &cx.rt;
    let value = Value::reference(quote!(value));
    let mut len_arms = TokenStream::new();
    let mut encode_arms = TokenStream::new();
    let mut decode_arms = TokenStream::new();
    for c in &u.cases {
        let v = ident(&c.rust_name);
        let label = case_value(cx, u, c);
        match &c.field {
            Some(f) => {
                let Arm {
                    bind,
                    len,
                    encode,
                    decode,
                } = arm(cx, f, &value);
                len_arms.extend(quote!(Self::#v(#bind) => #len,));
                encode_arms.extend(quote!(Self::#v(value) => { #encode }));
                decode_arms.extend(quote!(#label => Self::#v(#decode),));
            }
            None => {
                len_arms.extend(quote!(Self::#v => 0,));
                encode_arms.extend(quote!(Self::#v => {}));
                decode_arms.extend(quote!(#label => Self::#v,));
            }
        }
    }
    let labels: Vec<TokenStream> = u.cases.iter().map(|c| case_value(cx, u, c)).collect();
    let unknown = |d: TokenStream| {
        let d = discriminant_i64(cx, u, d);
        quote!(#rt::Error::new(#rt::ErrorKind::UnknownDiscriminant(#d)))
    };
    // A default arm holding a case's discriminant would decode as that case: refuse to encode it.
    let covered = cases_cover_all(cx, u);
    let err = unknown(quote!(*discriminant));
    let reject_label = match labels.as_slice() {
        [] => TokenStream::new(),
        // Every value has a case, so no default value can be encoded.
        _ if covered => quote!(Self::Default(discriminant, ..) => return Err(#err),),
        [label] => quote!(Self::Default(discriminant @ #label, ..) => return Err(#err),),
        _ => quote!(Self::Default(discriminant @ (#(#labels)|*), ..) => return Err(#err),),
    };
    match &u.default {
        Some(default) => {
            encode_arms = quote!(#reject_label #encode_arms);
            match default {
                Some(f) => {
                    let Arm {
                        bind,
                        len,
                        encode,
                        decode,
                    } = arm(cx, f, &value);
                    len_arms.extend(quote!(Self::Default(_, #bind) => #len,));
                    if !covered {
                        encode_arms.extend(quote!(Self::Default(_, value) => { #encode }));
                        decode_arms.extend(quote!(_ => Self::Default(discriminant, #decode),));
                    }
                }
                None => {
                    len_arms.extend(quote!(Self::Default(_) => 0,));
                    if !covered {
                        encode_arms.extend(quote!(Self::Default(_) => {}));
                        decode_arms.extend(quote!(_ => Self::Default(discriminant),));
                    }
                }
            }
        }
        None if !covered => {
            let err = unknown(quote!(discriminant));
            decode_arms.extend(quote!(_ => return Err(#err),));
        }
        None => {}
    }
    let put = encode_discriminant(cx, u, quote!(self.discriminant()));
    let get = decode_value(cx, &u.discriminant, &at(&u.discriminant_name));
    let d = discriminant_type(cx, u);
    let len = quote!(4 + match self { #len_arms });
    let encode = quote! {
        #put
        match self {
            #encode_arms
        }
        Ok(())
    };
    let prelude = quote!(let discriminant: #d = #get;);
    let body = quote! {
        match discriminant {
            #decode_arms
        }
    };
    (len, encode, depth_guarded(def, prelude, body))
}

/// The code for a union arm that holds a value.
struct Arm {
    /// The pattern binding the arm's value: `value`, or `_` when its length is a constant.
    bind: TokenStream,
    /// Its encoded length.
    len: TokenStream,
    /// Statements that encode `value`.
    encode: TokenStream,
    /// An expression that decodes it.
    decode: TokenStream,
}

fn arm(cx: &Ctx<'_>, f: &Field, value: &Value) -> Arm {
    let at = at(&f.xdr_name);
    let len = len_of(cx, &f.ty, value);
    Arm {
        bind: if len.terms.is_empty() {
            quote!(_)
        } else {
            quote!(value)
        },
        len: len.tokens(),
        encode: encode_value(cx, &f.ty, value, &at),
        decode: decode_value(cx, &f.ty, &at),
    }
}

/// The length of each element, as a closure over `item` or (when it is just the element's own
/// `encoded_len`) that function's path.
fn each_len(cx: &Ctx<'_>, inner: &Type) -> TokenStream {
    let rt = &cx.rt;
    let direct = match shape::resolve(cx.model, inner) {
        Shape::Def(_) => true,
        Shape::Plain(t) => matches!(
            t,
            Type::Named(_) | Type::Extern { .. } | Type::VarOpaque(_) | Type::String(_)
        ),
    };
    if direct {
        return quote!(#rt::Encode::encoded_len);
    }
    let each = len_of(cx, inner, &Value::reference(quote!(item))).tokens();
    quote!(|item| #each)
}

/// The encoded length of `value` (of type `ty`).
fn len_of(cx: &Ctx<'_>, ty: &Type, value: &Value) -> Len {
    let rt = &cx.rt;
    if let Some(n) = cx.sizes.fixed_size(ty) {
        return Len::constant(n);
    }
    let item = Value::reference(quote!(item));
    match shape::resolve(cx.model, ty) {
        Shape::Def(_) => {
            let v = value.by_ref();
            Len::term(quote!(#rt::Encode::encoded_len(#v)))
        }
        Shape::Plain(ty) => match ty {
            Type::FixedArray(inner, _) => {
                let v = value.expr();
                let each = each_len(cx, inner);
                Len::term(quote!(#v.iter().map(#each).sum::<usize>()))
            }
            Type::VarArray(inner, _) => {
                let v = value.expr();
                let each = match cx.sizes.fixed_size(inner) {
                    Some(0) => return Len::constant(4),
                    Some(n) => {
                        let n = Literal::usize_unsuffixed(n);
                        quote!(#v.len() * #n)
                    }
                    None => {
                        let each = each_len(cx, inner);
                        quote!(#v.iter().map(#each).sum::<usize>())
                    }
                };
                let mut len = Len::constant(4);
                len.add(Len::term(each));
                len
            }
            Type::Optional { inner, boxed } => {
                let v = value.expr();
                let each = len_of(cx, inner, &item);
                let get = if *boxed {
                    quote!(as_deref)
                } else {
                    quote!(as_ref)
                };
                if each.terms.is_empty() {
                    let present = Literal::usize_unsuffixed(4 + each.fixed);
                    return Len::term(quote!(if #v.is_some() { #present } else { 4 }));
                }
                let mut len = Len::constant(4);
                len.add(each);
                let present = len.tokens();
                Len::term(quote!(#v.#get().map_or(4, |item| #present)))
            }
            _ => {
                let v = value.by_ref();
                Len::term(quote!(#rt::Encode::encoded_len(#v)))
            }
        },
    }
}

/// Statements that encode `value` (of type `ty`), mapping errors with `at`.
fn encode_value(cx: &Ctx<'_>, ty: &Type, value: &Value, at: &TokenStream) -> TokenStream {
    if let Some(put) = scalar_put(cx, ty, value) {
        return scalar_run(cx, vec![put]);
    }
    let rt = &cx.rt;
    let item = Value::reference(quote!(item));
    let ty = match shape::resolve(cx.model, ty) {
        Shape::Def(_) => {
            let v = value.by_ref();
            return quote!(#rt::Encode::encode(#v, out)#at?;);
        }
        Shape::Plain(ty) => ty,
    };
    match ty {
        Type::FixedOpaque(_) => {
            let v = value.by_ref();
            quote!(out.put_fixed_opaque(#v);)
        }
        Type::FixedArray(inner, _) => {
            let v = value.by_ref();
            let each = encode_value(cx, inner, &item, at);
            quote!(for item in #v { #each })
        }
        Type::VarArray(inner, size) => {
            let v = value.expr();
            let bound = bound_expr(cx, size.as_ref());
            let each = encode_value(cx, inner, &item, at);
            quote! {
                out.put_len(#v.len(), #bound)#at?;
                for item in #v.iter() { #each }
            }
        }
        Type::Optional { inner, boxed } => {
            let v = value.expr();
            let get = if *boxed {
                quote!(as_deref)
            } else {
                quote!(as_ref)
            };
            let each = encode_value(cx, inner, &item, at);
            quote! {
                match #v.#get() {
                    Some(item) => {
                        out.put_bool(true);
                        #each
                    }
                    None => out.put_bool(false),
                }
            }
        }
        // Named types the model does not define, extern types, variable-length opaque data
        // and strings (scalars were written above).
        _ => {
            let v = value.by_ref();
            quote!(#rt::Encode::encode(#v, out)#at?;)
        }
    }
}

/// An expression that decodes a value of type `ty`, mapping errors with `at`.
fn decode_value(cx: &Ctx<'_>, ty: &Type, at: &TokenStream) -> TokenStream {
    let result = decode_result(cx, ty);
    quote!(#result #at?)
}

/// The `Decoder` method that reads a value of type `ty` directly, if there is one.
fn decoder_method(ty: &Type) -> Option<&'static str> {
    Some(match ty {
        Type::Int => "get_i32",
        Type::UnsignedInt => "get_u32",
        Type::Hyper => "get_i64",
        Type::UnsignedHyper => "get_u64",
        Type::Float => "get_f32",
        Type::Double => "get_f64",
        Type::Bool => "get_bool",
        Type::FixedOpaque(_) => "get_fixed_opaque",
        _ => return None,
    })
}

/// An expression of type `Result<T, Error>` that decodes a value of type `ty` from `input`.
fn decode_result(cx: &Ctx<'_>, ty: &Type) -> TokenStream {
    let rt = &cx.rt;
    let Shape::Plain(ty) = shape::resolve(cx.model, ty) else {
        return quote!(#rt::Decode::decode(input));
    };
    if let Some(method) = decoder_method(ty) {
        let method = ident(method);
        return quote!(input.#method());
    }
    match ty {
        Type::FixedArray(inner, _) => {
            let min = Literal::usize_unsuffixed(cx.sizes.min_size(inner));
            let each = decode_fn(cx, inner);
            quote!(input.get_array(#min, #each))
        }
        Type::VarArray(inner, _) => {
            let min = Literal::usize_unsuffixed(cx.sizes.min_size(inner));
            let each = decode_fn(cx, inner);
            quote!(input.get_var_array(#min, #each))
        }
        Type::Optional { inner, boxed: true } => {
            let each = decode_result(cx, inner);
            quote!(input.get_optional(|input| #each.map(::std::boxed::Box::new)))
        }
        Type::Optional { inner, .. } => {
            let each = decode_fn(cx, inner);
            quote!(input.get_optional(#each))
        }
        // `char`, `short` (range-checked by the runtime), strings, opaque and user types.
        _ => quote!(#rt::Decode::decode(input)),
    }
}

/// A function from the decoder to a `Result` holding a value of type `ty`: a path when one
/// exists (clippy rejects closures that only call a function), else a closure over `input`.
fn decode_fn(cx: &Ctx<'_>, ty: &Type) -> TokenStream {
    let rt = &cx.rt;
    match shape::resolve(cx.model, ty) {
        Shape::Plain(ty) => match decoder_method(ty) {
            Some(method) => {
                let method = ident(method);
                quote!(#rt::Decoder::#method)
            }
            None if matches!(
                ty,
                Type::FixedArray(..) | Type::VarArray(..) | Type::Optional { .. }
            ) =>
            {
                let each = decode_result(cx, ty);
                quote!(|input| #each)
            }
            None => quote!(#rt::Decode::decode),
        },
        Shape::Def(_) => quote!(#rt::Decode::decode),
    }
}

#[cfg(test)]
mod len_tests {
    use super::*;

    #[test]
    fn a_leading_if_in_a_sum_still_parses_as_one_expression() {
        let mut len = Len::term(quote!(if self.a.is_some() { 8 } else { 4 }));
        len.add(Len::term(quote!(self.b.len())));
        let body = len.tokens();
        let block: syn::Block = syn::parse2(quote!({ #body })).expect("a fn body");
        assert_eq!(block.stmts.len(), 1, "{body}");
        // Alone, the `if` needs no parentheses.
        let one = Len::term(quote!(if self.a.is_some() { 8 } else { 4 })).tokens();
        assert!(starts_with_if(&one));
    }
}
