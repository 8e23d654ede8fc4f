//! Servers of libvirt-style programs: a `…Server` trait with one method per procedure, each
//! with a default body answering libvirt's "not supported" error, and a `…Dispatcher` that
//! implements the runtime's `libvirt::server::Dispatch` with a `match` on the procedure
//! number. Each arm is one call of the runtime's generic `serve` (decode, access hook, call,
//! encode), so hundreds of procedures stay cheap to compile.
//!
//! A stream procedure's method returns its result with the body of its stream: a `@readstream`
//! method `(R, SendData)` (the data the server sends, produced once the reply is queued), a
//! `@writestream` method `(R, ReceiveData)` (what reads the client's data); their arms call
//! the runtime's `serve_send` / `serve_receive`. RFC 5531 programs get no server yet.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::docs::{procedure_docs, summary_docs};
use super::procs::info_name;
use super::roles::{libvirt_version, role, Role, Stream};
use super::rust_type::rust_type;
use super::{ident, Ctx};
use crate::model::{Procedure, Program, ProgramVersion, Type};
use crate::naming;

/// The server trait and dispatcher of a libvirt-style program; nothing for other programs.
pub fn server_items(cx: &Ctx<'_>, program: &Program) -> TokenStream {
    let version = match libvirt_version(cx, program, "server") {
        Ok(v) => v,
        Err(instead) => return instead,
    };
    let server = ident(&naming::server_trait_name(&program.rust_name));
    let mut methods = Vec::new();
    let mut arms = Vec::new();
    let mut skipped = Vec::new();
    // The runtime's `serve…` functions the arms call, imported by name.
    let mut serves = vec!["fallback"];
    for p in &version.procedures {
        match role(cx, p) {
            Role::Method { args, ret, stream } => {
                methods.push(method(cx, p, args, ret, stream));
                arms.push(arm(&server, p, args.is_some(), stream));
                if !serves.contains(&serve_fn(stream)) {
                    serves.push(serve_fn(stream));
                }
            }
            Role::Event => {}
            Role::Skipped(why) => {
                skipped.push(format!("- `{}` ({}): {why}.", p.xdr_name, p.number));
            }
        }
    }
    let server = server_trait(program, version, &methods, &skipped);
    serves[1..].sort_unstable();
    let dispatcher = dispatcher(cx, program, version, &arms, &serves);
    quote!(#server #dispatcher)
}

fn server_trait(
    program: &Program,
    version: &ProgramVersion,
    methods: &[TokenStream],
    skipped: &[String],
) -> TokenStream {
    let name = ident(&naming::server_trait_name(&program.rust_name));
    let dispatcher = naming::dispatcher_name(&program.rust_name);
    let mut summary = format!(
        "Server side of `{}` ({:#x}) version {}: one method per procedure, each with a\n\
         default body that answers libvirt's \"this function is not supported by the connection\n\
         driver\" error, so an implementation writes only what it serves. Serve it with\n\
         [`{dispatcher}`] (the runtime's `libvirt::server`, feature `libvirt`).\n\n\
         Methods may be written as `async fn`; their futures must be `Send`. The\n\
         `Context` gives the call's procedure and its connection (state, events).",
        program.xdr_name, program.number, version.number
    );
    if !skipped.is_empty() {
        summary.push_str("\n\nProcedures without a method (event procedures aside):\n\n");
        summary.push_str(&skipped.join("\n"));
    }
    let docs = summary_docs(&summary, &Default::default());
    quote! {
        #docs
        pub trait #name: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#methods)*
        }
    }
}

/// One trait method: docs, signature, and the default "not supported" body.
fn method(
    cx: &Ctx<'_>,
    p: &Procedure,
    args: Option<&Type>,
    ret: Option<&Type>,
    stream: Stream,
) -> TokenStream {
    let rt = &cx.rt;
    let lv = quote!(#rt::libvirt);
    let name = ident(&naming::server_method_name(&p.method_name));
    let (param, unused) = match args {
        Some(ty) => {
            let ty = rust_type(cx, ty);
            (quote!(, args: #ty), quote!(let _ = args;))
        }
        None => (TokenStream::new(), TokenStream::new()),
    };
    let ret = ret.map_or_else(|| quote!(()), |ty| rust_type(cx, ty));
    let mut summary = format!(
        "Serves `{}` (procedure {}). By default: libvirt's \"not supported\" error.",
        p.xdr_name, p.number
    );
    let sparse = p
        .annotations
        .sparseflag
        .as_deref()
        .map_or_else(String::new, |flag| {
            format!(
                "\n\nThe stream may carry holes when the call's flags have `{flag}`\n\
             (`@sparseflag`): say so with `.sparse(…)`."
            )
        });
    let ret = match stream {
        Stream::None => ret,
        Stream::Read => {
            summary.push_str(&format!(
                "\n\nThe call opens a stream of data to the client (`@readstream`): return the\n\
                 result with a `SendData` whose closure sends the data and finishes the stream;\n\
                 it runs once the reply is queued.{sparse}"
            ));
            quote!((#ret, #lv::server::SendData))
        }
        Stream::Write => {
            summary.push_str(&format!(
                "\n\nThe call opens a stream of data from the client (`@writestream`): return the\n\
                 result with a `ReceiveData` whose closure reads the data to its end; it runs\n\
                 once the reply is queued, and its `Ok(())` confirms the client's finish.{sparse}"
            ));
            quote!((#ret, #lv::server::ReceiveData))
        }
    };
    let docs = procedure_docs(&summary, &p.docs);
    quote! {
        #docs
        fn #name(&self, cx: &#lv::server::Context #param)
            -> impl ::core::future::Future<
                Output = ::core::result::Result<#ret, #lv::RemoteError>,
            > + ::core::marker::Send {
            #unused
            #lv::server::not_supported(cx)
        }
    }
}

/// The runtime function a procedure's arm calls.
fn serve_fn(stream: Stream) -> &'static str {
    match stream {
        Stream::None => "serve",
        Stream::Read => "serve_send",
        Stream::Write => "serve_receive",
    }
}

/// One dispatcher arm: the procedure number, then `serve` (streams: the runtime's
/// `serve_send` / `serve_receive`) with a closure calling the method (by its trait path, so
/// that no other method of the same name can be picked).
fn arm(server: &Ident, p: &Procedure, has_args: bool, stream: Stream) -> TokenStream {
    let number = Literal::u32_unsuffixed(p.number);
    let name = ident(&naming::server_method_name(&p.method_name));
    let serve = ident(serve_fn(stream));
    if has_args {
        quote!(#number => #serve(cx, args, move |a| #server::#name(s, cx, a)),)
    } else {
        quote!(#number => #serve(cx, args, move |()| #server::#name(s, cx)),)
    }
}

fn dispatcher(
    cx: &Ctx<'_>,
    program: &Program,
    version: &ProgramVersion,
    arms: &[TokenStream],
    serves: &[&str],
) -> TokenStream {
    let rt = &cx.rt;
    let lv = quote!(#rt::libvirt);
    let name = ident(&naming::dispatcher_name(&program.rust_name));
    let server = ident(&naming::server_trait_name(&program.rust_name));
    let info = ident(&info_name(program, version));
    let summary = format!(
        "Serves a [`{server}`] implementation: the runtime's `libvirt::server::Dispatch` for\n\
         `{}`. Give it to `libvirt::server::Server::builder().program(…)`.\n\n\
         Each call's arguments are decoded (an error reply naming the problem when they do not),\n\
         the server's access hook runs, then the method; its result is encoded as the reply, or\n\
         its `RemoteError` sent as libvirt's error. Procedures without a method get libvirt's\n\
         `unknown procedure` error. A stream method's stream body runs once its reply is queued.",
        program.xdr_name
    );
    let docs = summary_docs(&summary, &Default::default());
    // With no method, the `match` has only its fallback arm and `s` and `serve` go unused.
    let body = if arms.is_empty() {
        quote!(let _ = args; #lv::server::fallback(cx))
    } else {
        let serves = serves.iter().map(|s| ident(s));
        quote! {
            use #lv::server::{#(#serves),*};
            let s = &*self.inner;
            match cx.procedure().number {
                #(#arms)*
                _ => fallback(cx),
            }
        }
    };
    let holder = super::roles::dispatcher_struct(&name, &server);
    quote! {
        #docs
        #holder

        impl<T: #server> #lv::server::Dispatch for #name<T> {
            fn program(&self) -> &'static #rt::ProgramInfo {
                &#info
            }

            fn dispatch<'a>(
                &'a self,
                cx: &'a #lv::server::Context,
                args: &'a #rt::Bytes,
            ) -> #lv::server::BoxFuture<'a, #lv::server::Reply> {
                #body
            }
        }
    }
}
