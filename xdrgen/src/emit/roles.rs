//! How each procedure of a libvirt-style program appears in generated clients and servers: a
//! method (maybe with a data stream), an event, or nothing (with the reason, for the docs); and
//! the same for RFC 5531 programs ([`onc_signature`]). The client and server emitters share this
//! so that both sides always agree.

use proc_macro2::TokenStream;
use quote::quote;

use super::procs::xdr_text;
use super::shape::codec_problem;
use super::Ctx;
use crate::model::{Procedure, Program, ProgramStyle, ProgramVersion, Type};

/// How a procedure appears.
pub(super) enum Role<'a> {
    /// A method with these argument and result types.
    Method {
        args: Option<&'a Type>,
        ret: Option<&'a Type>,
        stream: Stream,
    },
    /// Only an event payload: a variant of the client's event enum, sent by the server through
    /// `Connection::send_event`; no method (a call to it is an unknown procedure, as in
    /// libvirtd).
    Event,
    /// Neither: generated code could not compile; the reason goes into the docs.
    Skipped(String),
}

/// Whether a call opens a data stream, and which way the data goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stream {
    None,
    /// `@readstream`: the server sends data to the client.
    Read,
    /// `@writestream`: the client sends data to the server.
    Write,
}

/// What generated code does with `p`.
pub(super) fn role<'a>(cx: &Ctx<'_>, p: &'a Procedure) -> Role<'a> {
    if let (Some(msg), true, None) = (&p.message, p.args.is_empty(), &p.result) {
        return match no_codec(cx, "message", msg) {
            None => Role::Event,
            Some(why) => Role::Skipped(why),
        };
    }
    if p.args.len() > 1 {
        return Role::Skipped(format!("it takes {} arguments", p.args.len()));
    }
    let args = p.args.first();
    let mut payloads = args
        .map(|ty| ("argument", ty))
        .into_iter()
        .chain(p.result.as_ref().map(|ty| ("result", ty)));
    if let Some(why) = payloads.find_map(|(what, ty)| no_codec(cx, what, ty)) {
        return Role::Skipped(why);
    }
    let a = &p.annotations;
    let stream = match (a.readstream, a.writestream) {
        (None, None) => Stream::None,
        (Some(_), None) => Stream::Read,
        (None, Some(_)) => Stream::Write,
        (Some(_), Some(_)) => {
            return Role::Skipped("it has both `@readstream` and `@writestream`".into())
        }
    };
    Role::Method {
        args,
        ret: p.result.as_ref(),
        stream,
    }
}

/// What an RFC 5531 procedure gets on both sides: its argument types (any number, rpcgen `-N`
/// style) and result type, or why it gets no method (a payload type whose Rust type has no
/// codec sending rpcgen's bytes, see [`codec_problem`]).
pub(super) fn onc_signature<'a>(
    cx: &Ctx<'_>,
    p: &'a Procedure,
) -> Result<(&'a [Type], Option<&'a Type>), String> {
    let args = p.args.iter().map(|ty| ("argument", ty));
    let mut payloads = args.chain(p.result.as_ref().map(|ty| ("result", ty)));
    match payloads.find_map(|(what, ty)| no_codec(cx, what, ty)) {
        Some(why) => Err(why),
        None => Ok((&p.args, p.result.as_ref())),
    }
}

/// Why a procedure's `what` (argument, result, message) of type `ty` keeps it from getting a
/// method, for its docs; `None` when its Rust type has a codec sending rpcgen's bytes.
fn no_codec(cx: &Ctx<'_>, what: &str, ty: &Type) -> Option<String> {
    let why = codec_problem(cx.model, ty)?;
    Some(format!("its {what} type `{}` {why}", xdr_text(ty)))
}

/// The versions an RFC 5531 program's clients or servers (`side`) are generated for: all of
/// them. `Err` holds what to emit instead: nothing for libvirt-style programs, a
/// `compile_error!` without codecs.
pub(super) fn onc_versions<'p>(
    cx: &Ctx<'_>,
    program: &'p Program,
    side: &str,
) -> Result<&'p [ProgramVersion], TokenStream> {
    if program.style != ProgramStyle::OncRpc {
        return Err(TokenStream::new());
    }
    if !cx.options.codecs {
        let msg =
            format!("xdrgen: a {side} needs the codecs (Encode/Decode impls) of its payload types");
        return Err(quote!(::core::compile_error!(#msg);));
    }
    Ok(&program.versions)
}

/// The version a client or server (`side`) is generated for: the one version of a libvirt-style
/// program. `Err` holds what to emit instead: nothing for other programs, a `compile_error!`
/// without codecs.
pub(super) fn libvirt_version<'p>(
    cx: &Ctx<'_>,
    program: &'p Program,
    side: &str,
) -> Result<&'p ProgramVersion, TokenStream> {
    let Some(version) = program.versions.first() else {
        return Err(TokenStream::new());
    };
    if program.style != ProgramStyle::Libvirt {
        return Err(TokenStream::new());
    }
    if !cx.options.codecs {
        let msg =
            format!("xdrgen: a {side} needs the codecs (Encode/Decode impls) of its payload types");
        return Err(quote!(::core::compile_error!(#msg);));
    }
    Ok(version)
}

/// The dispatcher struct a server emitter (libvirt's or ONC RPC's) generates around the trait
/// `server`: `name<T>` holding the implementation in an `Arc`, with `new`, `from_arc`,
/// `get_ref` and `Clone`. Each emitter adds its own `Dispatch` impl.
pub(super) fn dispatcher_struct(
    name: &proc_macro2::Ident,
    server: &impl quote::ToTokens,
) -> TokenStream {
    quote! {
        pub struct #name<T> {
            inner: ::std::sync::Arc<T>,
        }

        impl<T: #server> #name<T> {
            /// A dispatcher calling `server`.
            pub fn new(server: T) -> Self {
                Self::from_arc(::std::sync::Arc::new(server))
            }

            /// A dispatcher calling a shared `server`.
            pub fn from_arc(server: ::std::sync::Arc<T>) -> Self {
                Self { inner: server }
            }

            /// The implementation it calls.
            pub fn get_ref(&self) -> &::std::sync::Arc<T> {
                &self.inner
            }
        }

        impl<T> ::core::clone::Clone for #name<T> {
            fn clone(&self) -> Self {
                Self { inner: self.inner.clone() }
            }
        }
    }
}
