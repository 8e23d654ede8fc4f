//! Async clients of libvirt-style programs: a `…Client` struct with one thin method per
//! procedure, each a single call into the runtime's `libvirt::Client` (which does the framing,
//! serials, routing and errors), and an `…Event` enum decoding the program's MESSAGE packets.
//!
//! RFC 5531 programs get no client yet (their transport is a different runtime module).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::docs::{procedure_docs, summary_docs};
use super::procs::info_name;
use super::roles::{libvirt_version, role, Role, Stream};
use super::rust_type::rust_type;
use super::{ident, Ctx};
use crate::model::{Procedure, Program, ProgramVersion, Type};
use crate::naming;

/// The client struct and event enum of a libvirt-style program; nothing for other programs.
pub fn client_items(cx: &Ctx<'_>, program: &Program) -> TokenStream {
    let version = match libvirt_version(cx, program, "client") {
        Ok(v) => v,
        Err(instead) => return instead,
    };
    let events: Vec<&Procedure> = version
        .procedures
        .iter()
        .filter(|p| matches!(role(cx, p), Role::Event))
        .collect();
    let event_enum = (!events.is_empty()).then(|| event_items(cx, program, version, &events));
    let client = client_struct(cx, program, version, !events.is_empty());
    quote!(#client #event_enum)
}

fn client_struct(
    cx: &Ctx<'_>,
    program: &Program,
    version: &ProgramVersion,
    has_events: bool,
) -> TokenStream {
    let rt = &cx.rt;
    let lv = quote!(#rt::libvirt);
    let name = ident(&naming::client_name(&program.rust_name));
    let info = ident(&info_name(program, version));
    let mut methods = Vec::new();
    let mut skipped = Vec::new();
    for p in &version.procedures {
        match role(cx, p) {
            Role::Method { args, ret, stream } => {
                methods.push(method(cx, p, args, ret, stream));
            }
            Role::Event => {}
            Role::Skipped(why) => {
                skipped.push(format!("- `{}` ({}): {why}.", p.xdr_name, p.number));
            }
        }
    }
    let event_name = ident(&naming::event_enum_name(&program.rust_name));
    let mut summary = format!(
        "Async client of `{}` ({:#x}) version {}: one method per procedure, each\n\
         a call through a libvirt connection (the runtime's `libvirt::Client`, feature `libvirt`).",
        program.xdr_name, program.number, version.number
    );
    if has_events {
        summary.push_str(&format!(
            "\n\nEvent procedures (those with only a `*_msg` payload) have no method: the server\n\
             sends them unasked, and [`{}::events`] receives them as [`{}`] values.",
            name, event_name
        ));
    }
    if !skipped.is_empty() {
        summary.push_str("\n\nProcedures without a method:\n\n");
        summary.push_str(&skipped.join("\n"));
    }
    let docs = summary_docs(&summary, &Default::default());
    let events = has_events.then(|| {
        quote! {
            /// Subscribes to this program's events on the connection, buffering up to
            /// `capacity` of them (see the runtime's `libvirt::Client::events`).
            pub fn events(&self, capacity: usize) -> #lv::Events<#event_name> {
                self.inner.events(capacity)
            }
        }
    });
    quote! {
        #docs
        #[derive(Debug, Clone)]
        pub struct #name {
            inner: #lv::Client,
        }

        impl #name {
            /// The procedure table of the program this client calls.
            pub const INFO: &'static #rt::ProgramInfo = &#info;

            /// A client of this program over `connection`.
            pub fn new(connection: #lv::Client) -> Self {
                Self { inner: connection }
            }

            /// The connection this client calls through.
            pub fn connection(&self) -> &#lv::Client {
                &self.inner
            }

            /// A client on the same connection whose calls give up after `timeout` (`None`:
            /// they wait as long as the connection lives).
            pub fn with_timeout(&self, timeout: ::core::option::Option<::core::time::Duration>) -> Self {
                Self { inner: self.inner.with_timeout(timeout) }
            }

            #events

            #(#methods)*
        }
    }
}

/// One client method: its docs and a single runtime call.
fn method(
    cx: &Ctx<'_>,
    p: &Procedure,
    args: Option<&Type>,
    ret: Option<&Type>,
    stream: Stream,
) -> TokenStream {
    let rt = &cx.rt;
    let lv = quote!(#rt::libvirt);
    let name = ident(&naming::client_method_name(&p.method_name));
    let number = Literal::u32_unsuffixed(p.number);
    let (param, arg) = match args {
        Some(ty) => {
            let ty = rust_type(cx, ty);
            (quote!(, args: &#ty), quote!(args))
        }
        None => (TokenStream::new(), quote!(&())),
    };
    let ret = ret.map_or_else(|| quote!(()), |ty| rust_type(cx, ty));
    let mut summary = format!("Calls `{}` (procedure {}).", p.xdr_name, p.number);
    let (call, output) = match stream {
        Stream::None => (quote!(call), ret),
        Stream::Read => {
            summary.push_str(
                "\n\nThe reply opens a stream of data from the server (`@readstream`), returned\n\
                 with the result.",
            );
            (quote!(call_read_stream), quote!((#ret, #lv::ReadStream)))
        }
        Stream::Write => {
            summary.push_str(
                "\n\nThe reply opens a stream of data to the server (`@writestream`), returned\n\
                 with the result.",
            );
            (quote!(call_write_stream), quote!((#ret, #lv::WriteStream)))
        }
    };
    let docs = procedure_docs(&summary, &p.docs);
    quote! {
        #docs
        pub async fn #name(&self #param) -> ::core::result::Result<#output, #lv::Error> {
            self.inner.#call(Self::INFO, #number, #arg).await
        }
    }
}

/// The event enum and its `Event` impl.
fn event_items(
    cx: &Ctx<'_>,
    program: &Program,
    version: &ProgramVersion,
    events: &[&Procedure],
) -> TokenStream {
    let rt = &cx.rt;
    let name = ident(&naming::event_enum_name(&program.rust_name));
    let client = naming::client_name(&program.rust_name);
    let info = ident(&info_name(program, version));
    let summary = format!(
        "Events of `{}`: the payloads of its MESSAGE packets, one variant per event\n\
         procedure. [`{client}::events`] receives them.",
        program.xdr_name
    );
    let docs = summary_docs(&summary, &Default::default());
    let variants = events.iter().filter_map(|p| {
        let ty = rust_type(cx, p.message.as_ref()?);
        let v = ident(&p.variant_name);
        let summary = format!("`{}` (procedure {}).", p.xdr_name, p.number);
        let docs = procedure_docs(&summary, &p.docs);
        Some(quote!(#docs #v(#ty),))
    });
    let arms = events.iter().map(|p| {
        let v = ident(&p.variant_name);
        let number = Literal::u32_unsuffixed(p.number);
        quote!(#number => Self::#v(from_shared(body)?),)
    });
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        pub enum #name {
            #(#variants)*
        }

        impl #rt::libvirt::Event for #name {
            const PROGRAM: &'static #rt::ProgramInfo = &#info;

            fn decode_event(
                procedure: u32,
                body: &#rt::Bytes,
            ) -> ::core::result::Result<::core::option::Option<Self>, #rt::Error> {
                use #rt::from_shared;
                let event = match procedure {
                    #(#arms)*
                    _ => return Ok(None),
                };
                Ok(Some(event))
            }
        }
    }
}
