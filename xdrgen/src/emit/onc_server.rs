//! Servers of RFC 5531 `program` blocks: per version, a `…Server` trait (named after the
//! version: `NFS_V3` → `NfsV3Server`) with one method per procedure and a `…Dispatcher` that
//! implements the runtime's `onc::Dispatch` with a `match` on the procedure number, each arm one
//! call of the runtime's generic `serve` (decode or `GARBAGE_ARGS`, call, encode). Arguments
//! come as the received record's `Bytes` and decode without copying their opaque data, as the
//! libvirt dispatchers' do.
//!
//! A method's default body answers `PROC_UNAVAIL`, except a procedure 0 without arguments or
//! results (`NULL`), which succeeds; a procedure the `.x` does not list gets the runtime's
//! `fallback` (the same two rules). Methods receive the call's `Context`, whose credentials
//! are the caller's.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::docs::{procedure_docs, summary_docs};
use super::onc_client::arg_names;
use super::procs::info_name;
use super::roles::{onc_signature, onc_versions};
use super::rust_type::rust_type;
use super::{ident, Ctx};
use crate::model::{Procedure, Program, ProgramVersion, Type};
use crate::naming;

/// The server trait and dispatcher of every version of an RFC 5531 program; nothing for other
/// programs.
pub fn server_items(cx: &Ctx<'_>, program: &Program) -> TokenStream {
    match onc_versions(cx, program, "server") {
        Ok(versions) => versions
            .iter()
            .map(|v| version_items(cx, program, v))
            .collect(),
        Err(instead) => instead,
    }
}

fn version_items(cx: &Ctx<'_>, program: &Program, version: &ProgramVersion) -> TokenStream {
    let base = naming::version_name(&version.xdr_name);
    let server = ident(&naming::server_trait_name(&base));
    let mut methods = Vec::new();
    let mut arms = Vec::new();
    let mut skipped = Vec::new();
    for p in &version.procedures {
        match onc_signature(cx, p) {
            Ok((args, ret)) => {
                methods.push(method(cx, p, args, ret));
                arms.push(arm(cx, &server, p, args));
            }
            Err(why) => skipped.push(format!("- `{}` ({}): {why}.", p.xdr_name, p.number)),
        }
    }
    let dispatcher = naming::dispatcher_name(&base);
    let mut summary = format!(
        "Server side of `{}` ({:#x}) version {} (`{}`): one method per procedure, each\n\
         with a default body answering `PROC_UNAVAIL` (a `NULL` procedure 0 succeeds), so an\n\
         implementation writes only what it serves. Serve it with [`{dispatcher}`] (the\n\
         runtime's `onc::Server`, feature `onc`).\n\n\
         Methods may be written as `async fn`; their futures must be `Send`. The `Context`\n\
         gives the caller's credentials, address and transport; an `Err(CallError)` is sent as\n\
         the RFC 5531 status it names.",
        program.xdr_name, program.number, version.number, version.xdr_name
    );
    if !skipped.is_empty() {
        summary.push_str("\n\nProcedures without a method:\n\n");
        summary.push_str(&skipped.join("\n"));
    }
    let docs = summary_docs(&summary, &program.docs);
    let dispatcher = dispatcher_items(cx, program, version, &server, &arms);
    quote! {
        #docs
        pub trait #server: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#methods)*
        }

        #dispatcher
    }
}

/// One trait method: docs, signature and default body.
fn method(cx: &Ctx<'_>, p: &Procedure, args: &[Type], ret: Option<&Type>) -> TokenStream {
    let rt = &cx.rt;
    let onc = quote!(#rt::onc);
    let name = ident(&naming::server_method_name(&p.method_name));
    let names = arg_names(args.len());
    let params = names.iter().zip(args).map(|(n, ty)| {
        let ty = rust_type(cx, ty);
        quote!(, #n: #ty)
    });
    let is_null = p.number == 0 && args.is_empty() && ret.is_none();
    let ret = ret.map_or_else(|| quote!(()), |ty| rust_type(cx, ty));
    let (default, body) = if is_null {
        (
            "By default: success (the `NULL` procedure).",
            quote!(::core::future::ready(::core::result::Result::Ok(()))),
        )
    } else {
        ("By default: `PROC_UNAVAIL`.", quote!(#onc::unavailable()))
    };
    let summary = format!(
        "Serves `{}` (procedure {}). {default}",
        p.xdr_name, p.number
    );
    let docs = procedure_docs(&summary, &p.docs);
    quote! {
        #docs
        fn #name(&self, cx: &#onc::Context #(#params)*)
            -> impl ::core::future::Future<
                Output = ::core::result::Result<#ret, #onc::CallError>,
            > + ::core::marker::Send {
            let _ = (cx, #(#names),*);
            #body
        }
    }
}

/// One dispatcher arm: the procedure number, then `serve` with a closure that takes the
/// decoded arguments (a tuple for several) and calls the method by its trait path.
fn arm(cx: &Ctx<'_>, server: &Ident, p: &Procedure, args: &[Type]) -> TokenStream {
    let number = Literal::u32_unsuffixed(p.number);
    let name = ident(&naming::server_method_name(&p.method_name));
    let names = arg_names(args.len());
    let types: Vec<TokenStream> = args.iter().map(|ty| rust_type(cx, ty)).collect();
    let pattern = match (names.as_slice(), types.as_slice()) {
        ([], _) => quote!(()),
        ([one], [ty]) => quote!(#one: #ty),
        (many, tys) => quote!((#(#many,)*): (#(#tys,)*)),
    };
    quote!(#number => serve(args, move |#pattern| #server::#name(s, cx #(, #names)*)),)
}

fn dispatcher_items(
    cx: &Ctx<'_>,
    program: &Program,
    version: &ProgramVersion,
    server: &Ident,
    arms: &[TokenStream],
) -> TokenStream {
    let rt = &cx.rt;
    let onc = quote!(#rt::onc);
    let name = ident(&naming::dispatcher_name(&naming::version_name(
        &version.xdr_name,
    )));
    let info = ident(&info_name(program, version));
    let summary = format!(
        "Serves a [`{server}`] implementation: the runtime's `onc::Dispatch` for `{}`\n\
         version {}. Give it to `onc::Server::builder().program(…)` (with the dispatchers of the\n\
         program's other versions, so that a wrong version gets `PROG_MISMATCH` with the range\n\
         served).\n\n\
         Arguments that do not decode get `GARBAGE_ARGS`; procedures without a method get\n\
         `PROC_UNAVAIL`, except `NULL` (0), which succeeds.",
        program.xdr_name, version.number
    );
    let docs = summary_docs(&summary, &Default::default());
    let body = if arms.is_empty() {
        quote!(#onc::fallback(cx, args))
    } else {
        quote! {
            use #onc::{fallback, serve};
            let s = &*self.inner;
            match cx.procedure() {
                #(#arms)*
                _ => fallback(cx, args),
            }
        }
    };
    let holder = super::roles::dispatcher_struct(&name, &server);
    quote! {
        #docs
        #holder

        impl<T: #server> #onc::Dispatch for #name<T> {
            fn program(&self) -> &'static #rt::ProgramInfo {
                &#info
            }

            fn dispatch<'a>(
                &'a self,
                cx: &'a #onc::Context,
                args: &'a #rt::Bytes,
            ) -> #onc::BoxFuture<'a, #onc::Reply> {
                #body
            }
        }
    }
}
