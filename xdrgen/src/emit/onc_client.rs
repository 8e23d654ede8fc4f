//! Async clients of RFC 5531 `program` blocks: per version, a `…Client` struct (named after the
//! version: `NFS_V3` → `NfsV3Client`) with one thin method per procedure, each a single call of
//! the runtime's `onc::Client::call` (which does the `rpc_msg` header, record marking or
//! datagrams, xids, retransmission and errors). A procedure with several arguments (rpcgen
//! `-N` style) takes them in order and sends them as a tuple.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::docs::{procedure_docs, summary_docs};
use super::procs::info_name;
use super::roles::{onc_signature, onc_versions};
use super::rust_type::rust_type;
use super::{ident, Ctx};
use crate::model::{Procedure, Program, ProgramVersion, Type};
use crate::naming;

/// One client struct per version of an RFC 5531 program; nothing for other programs.
pub fn client_items(cx: &Ctx<'_>, program: &Program) -> TokenStream {
    match onc_versions(cx, program, "client") {
        Ok(versions) => versions
            .iter()
            .map(|v| client_struct(cx, program, v))
            .collect(),
        Err(instead) => instead,
    }
}

fn client_struct(cx: &Ctx<'_>, program: &Program, version: &ProgramVersion) -> TokenStream {
    let rt = &cx.rt;
    let onc = quote!(#rt::onc);
    let name = ident(&naming::client_name(&naming::version_name(
        &version.xdr_name,
    )));
    let info = ident(&info_name(program, version));
    let mut methods = Vec::new();
    let mut skipped = Vec::new();
    for p in &version.procedures {
        match onc_signature(cx, p) {
            Ok((args, ret)) => methods.push(method(cx, p, args, ret)),
            Err(why) => skipped.push(format!("- `{}` ({}): {why}.", p.xdr_name, p.number)),
        }
    }
    let mut summary = format!(
        "Async client of `{}` ({:#x}) version {} (`{}`): one method per procedure, each\n\
         an ONC RPC call (RFC 5531) through the runtime's `onc::Client` (feature `onc`), over\n\
         TCP or UDP.",
        program.xdr_name, program.number, version.number, version.xdr_name
    );
    if !skipped.is_empty() {
        summary.push_str("\n\nProcedures without a method:\n\n");
        summary.push_str(&skipped.join("\n"));
    }
    let docs = summary_docs(&summary, &program.docs);
    quote! {
        #docs
        #[derive(Debug, Clone)]
        pub struct #name {
            inner: #onc::Client,
        }

        impl #name {
            /// The procedure table of the program version this client calls.
            pub const INFO: &'static #rt::ProgramInfo = &#info;

            /// A client of this program version over `connection`.
            pub fn new(connection: #onc::Client) -> Self {
                Self { inner: connection }
            }

            /// The connection this client calls through.
            pub fn connection(&self) -> &#onc::Client {
                &self.inner
            }

            /// A client on the same connection whose calls give up after `timeout` (`None`:
            /// they wait as long as the connection lives).
            pub fn with_timeout(&self, timeout: ::core::option::Option<::core::time::Duration>) -> Self {
                Self { inner: self.inner.with_timeout(timeout) }
            }

            #(#methods)*
        }
    }
}

/// One client method: its docs and a single runtime call.
fn method(cx: &Ctx<'_>, p: &Procedure, args: &[Type], ret: Option<&Type>) -> TokenStream {
    let rt = &cx.rt;
    let name = ident(&naming::client_method_name(&p.method_name));
    let number = Literal::u32_unsuffixed(p.number);
    let names = arg_names(args.len());
    let params = names.iter().zip(args).map(|(n, ty)| {
        let ty = rust_type(cx, ty);
        quote!(, #n: &#ty)
    });
    let sent = match names.as_slice() {
        [] => quote!(&()),
        [one] => quote!(#one),
        many => quote!(&(#(#many,)*)),
    };
    let ret = ret.map_or_else(|| quote!(()), |ty| rust_type(cx, ty));
    let summary = format!("Calls `{}` (procedure {}).", p.xdr_name, p.number);
    let docs = procedure_docs(&summary, &p.docs);
    quote! {
        #docs
        pub async fn #name(&self #(#params)*) -> ::core::result::Result<#ret, #rt::onc::Error> {
            self.inner.call(Self::INFO, #number, #sent).await
        }
    }
}

/// Parameter names: `arg` for one argument, `arg1`, `arg2`, … (as rpcgen) for several.
pub(super) fn arg_names(n: usize) -> Vec<proc_macro2::Ident> {
    match n {
        1 => vec![ident("arg")],
        n => (1..=n).map(|i| ident(&format!("arg{i}"))).collect(),
    }
}
