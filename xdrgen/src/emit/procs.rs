//! Procedure tables: one `pub static …_INFO: ProgramInfo` per program version, listing every
//! procedure's number, names, payload types and annotations for clients, servers and tools to
//! read at run time (the runtime's `rpc` module defines the types).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::docs::summary_docs;
use super::{ident, Ctx};
use crate::model::{Generate, Procedure, Program, ProgramStyle, ProgramVersion, Type};
use crate::naming;

/// The Rust name of a program version's table static (see [`naming::program_info_name`]).
pub fn info_name(program: &Program, version: &ProgramVersion) -> String {
    match program.style {
        // A libvirt program has one version, named by a constant rather than a block.
        ProgramStyle::Libvirt => naming::program_info_name(&program.xdr_name, None),
        ProgramStyle::OncRpc => {
            naming::program_info_name(&program.xdr_name, Some(&version.xdr_name))
        }
    }
}

/// The tables of every version of `program`.
pub fn program_tables(cx: &Ctx<'_>, program: &Program) -> TokenStream {
    let tables = program
        .versions
        .iter()
        .map(|v| version_table(cx, program, v));
    quote!(#(#tables)*)
}

fn version_table(cx: &Ctx<'_>, program: &Program, version: &ProgramVersion) -> TokenStream {
    let rt = &cx.rt;
    let name = ident(&info_name(program, version));
    let summary = format!(
        "Procedure table of `{}` ({:#x}) version {} (`{}`): numbers,\n\
         payload types and annotations, sorted by number.",
        program.xdr_name, program.number, version.number, version.xdr_name
    );
    let docs = summary_docs(&summary, &program.docs);
    let program_name = &program.xdr_name;
    let number = hex_u32(program.number);
    let version_number = Literal::u32_unsuffixed(version.number);
    let mut procedures: Vec<&Procedure> = version.procedures.iter().collect();
    // `ProgramInfo::procedure` binary-searches; the checker has made the numbers unique.
    procedures.sort_by_key(|p| p.number);
    let entries = procedures.iter().map(|p| procedure_info(p));
    // The `use` keeps the hundreds of entries of libvirt's programs short; it names only what
    // the entries use, so that no import goes unused.
    let mut used = vec![quote!(ProgramInfo)];
    if !procedures.is_empty() {
        used.push(quote!(ProcedureInfo));
    }
    if procedures.iter().any(|p| p.annotations.generate.is_some()) {
        used.push(quote!(Generate));
    }
    quote! {
        #docs
        pub static #name: #rt::ProgramInfo = {
            use #rt::{#(#used),*};
            ProgramInfo {
                name: #program_name,
                number: #number,
                version: #version_number,
                procedures: &[#(#entries),*],
            }
        };
    }
}

/// A `ProcedureInfo`: `ProcedureInfo::new(number, name, method)` with the fields that differ from
/// its defaults filled in by struct update syntax.
fn procedure_info(p: &Procedure) -> TokenStream {
    let a = &p.annotations;
    let mut fields = Vec::new();
    if !p.args.is_empty() {
        let text = p.args.iter().map(xdr_text).collect::<Vec<_>>().join(", ");
        fields.push(quote!(args: Some(#text)));
    }
    if let Some(ret) = &p.result {
        let text = xdr_text(ret);
        fields.push(quote!(ret: Some(#text)));
    }
    if let Some(msg) = &p.message {
        let text = xdr_text(msg);
        fields.push(quote!(message: Some(#text)));
    }
    if let Some(g) = a.generate {
        let g = match g {
            Generate::Both => quote!(Both),
            Generate::Client => quote!(Client),
            Generate::Server => quote!(Server),
            Generate::None => quote!(None),
        };
        fields.push(quote!(generate: Some(Generate::#g)));
    }
    if !a.acl.is_empty() {
        let acl = &a.acl;
        fields.push(quote!(acl: &[#(#acl),*]));
    }
    if !a.aclfilter.is_empty() {
        let aclfilter = &a.aclfilter;
        fields.push(quote!(aclfilter: &[#(#aclfilter),*]));
    }
    if a.high_priority {
        fields.push(quote!(high_priority: true));
    }
    if let Some(n) = a.readstream {
        let n = Literal::u32_unsuffixed(n);
        fields.push(quote!(readstream: Some(#n)));
    }
    if let Some(n) = a.writestream {
        let n = Literal::u32_unsuffixed(n);
        fields.push(quote!(writestream: Some(#n)));
    }
    if let Some(flag) = &a.sparseflag {
        fields.push(quote!(sparseflag: Some(#flag)));
    }
    let number = Literal::u32_unsuffixed(p.number);
    let name = &p.xdr_name;
    // The name a caller would type, without the raw-identifier prefix.
    let method = p.method_name.trim_start_matches("r#");
    let new = quote!(ProcedureInfo::new(#number, #name, #method));
    if fields.is_empty() {
        new
    } else {
        quote!(ProcedureInfo { #(#fields,)* ..#new })
    }
}

/// A program number in hex, as `.x` files and rpcinfo write them (`0x20008086`).
fn hex_u32(n: u32) -> TokenStream {
    format!("{n:#x}")
        .parse::<Literal>()
        .map_or_else(|_| quote!(#n), |l| quote!(#l))
}

/// A payload type as `.x` text: a named type's `.x` name, otherwise the declaration's type
/// written the way a `.x` file would (`unsigned hyper`, `string<64>`, `int[4]`, `foo *`).
pub fn xdr_text(ty: &Type) -> String {
    let bound =
        |b: &Option<crate::model::Size>| b.as_ref().map_or(String::new(), |s| s.value.to_string());
    match ty {
        Type::Named(r) => r.xdr_name.clone(),
        Type::Extern { xdr_name, .. } => xdr_name.clone(),
        Type::FixedOpaque(n) => format!("opaque[{}]", n.value),
        Type::VarOpaque(b) => format!("opaque<{}>", bound(b)),
        Type::String(b) => format!("string<{}>", bound(b)),
        Type::FixedArray(inner, n) => format!("{}[{}]", xdr_text(inner), n.value),
        Type::VarArray(inner, b) => format!("{}<{}>", xdr_text(inner), bound(b)),
        Type::Optional { inner, .. } => format!("{} *", xdr_text(inner)),
        scalar => scalar.scalar_name().unwrap_or_default().into(),
    }
}
