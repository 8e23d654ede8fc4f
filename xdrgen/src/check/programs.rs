//! Pass 5: programs, from RFC 5531 `program` blocks and from libvirt's procedure enums.

use std::collections::HashMap;

use crate::ast::{self, Ident, Value};
use crate::model::{Annotations, Generate, Procedure, Program, ProgramStyle, ProgramVersion, Type};
use crate::naming;
use crate::source::Span;

use super::consts::Consts;
use super::symbols::{Body, ProgramItem};
use super::types::{value_text, Resolver};
use super::Cx;

/// Every program of the unit, with the index of its module.
pub(super) fn build(cx: &mut Cx, consts: &mut Consts, r: &Resolver) -> Vec<(usize, Program)> {
    let mut out = Vec::new();
    let mut names: HashMap<&str, Span> = HashMap::new();
    for p in &r.syms.programs {
        // Rule: program names are unique in the unit (rpcgen `#define`s them all in one header).
        if let Some(first) = names.insert(&p.program.name.name, p.program.name.span) {
            cx.duplicate(
                p.program.name.span,
                format!("duplicate program `{}`", p.program.name.name),
                first,
            );
        }
        out.push((p.module, onc_program(cx, consts, r, p)));
    }
    for module in 0..r.module_names.len() {
        if let Some(p) = libvirt_program(cx, consts, r, module) {
            out.push((module, p));
        }
    }
    out
}

/// Rule: program, version and procedure numbers are unsigned 32-bit.
fn check_number(cx: &mut Cx, consts: &mut Consts, r: &Resolver, v: &Value, what: &str) -> u32 {
    match consts.value(cx, r.syms, v) {
        Some(n) => u32::try_from(n).unwrap_or_else(|_| {
            cx.error(
                v.span(),
                format!(
                    "{what} number `{}` ({n}) is not in 0..={}",
                    value_text(v),
                    u32::MAX
                ),
            );
            0
        }),
        None => 0,
    }
}

/// Rule: within one scope (versions of a program, procedures of a version), names and numbers
/// are unique.
fn unique(
    cx: &mut Cx,
    what: &str,
    names: &mut HashMap<String, Span>,
    numbers: &mut HashMap<u32, Span>,
    name: &Ident,
    number: u32,
    number_span: Span,
) {
    if let Some(first) = names.insert(name.name.clone(), name.span) {
        cx.duplicate(
            name.span,
            format!("duplicate {what} `{}`", name.name),
            first,
        );
    }
    if let Some(first) = numbers.get(&number) {
        cx.duplicate(
            number_span,
            format!("duplicate {what} number {number} (`{}`)", name.name),
            *first,
        );
    } else {
        numbers.insert(number, number_span);
    }
}

/// An RFC 5531 `program` block.
fn onc_program(cx: &mut Cx, consts: &mut Consts, r: &Resolver, p: &ProgramItem) -> Program {
    let prog = p.program;
    let number = check_number(cx, consts, r, &prog.number, "program");
    let (mut vnames, mut vnumbers) = (HashMap::new(), HashMap::new());
    let mut versions = Vec::new();
    for v in &prog.versions {
        let vnum = check_number(cx, consts, r, &v.number, "version");
        unique(
            cx,
            "version",
            &mut vnames,
            &mut vnumbers,
            &v.name,
            vnum,
            v.number.span(),
        );
        let (mut pnames, mut pnumbers) = (HashMap::new(), HashMap::new());
        let proc_names: Vec<&str> = v.procedures.iter().map(|p| p.name.name.as_str()).collect();
        let variants = naming::variant_names(&proc_names);
        let mut procedures = Vec::new();
        for (proc, variant_name) in v.procedures.iter().zip(variants) {
            let pnum = check_number(cx, consts, r, &proc.number, "procedure");
            unique(
                cx,
                "procedure",
                &mut pnames,
                &mut pnumbers,
                &proc.name,
                pnum,
                proc.number.span(),
            );
            let (outer, name) = (&prog.name.name, &proc.name.name);
            let args = proc
                .args
                .iter()
                .map(|a| r.decl_type(cx, consts, a, outer, name))
                .collect();
            let result = proc
                .result
                .as_ref()
                .map(|t| r.decl_type(cx, consts, t, outer, name));
            procedures.push(Procedure {
                xdr_name: proc.name.name.clone(),
                method_name: naming::method_name(&proc.name.name),
                variant_name,
                number: pnum,
                args,
                result,
                message: None,
                annotations: annotations(cx, &proc.doc),
                docs: cx.docs(Some(&proc.doc), None),
            });
        }
        let spans: Vec<Span> = v.procedures.iter().map(|p| p.name.span).collect();
        super::names::check_procedures(cx, &procedures, &spans);
        versions.push(ProgramVersion {
            xdr_name: v.name.name.clone(),
            number: vnum,
            procedures,
        });
    }
    Program {
        xdr_name: prog.name.name.clone(),
        rust_name: naming::program_name(&prog.name.name),
        number,
        versions,
        style: ProgramStyle::OncRpc,
        docs: cx.docs(Some(p.doc), None),
    }
}

/// A libvirt-style program: a file with a `*_PROGRAM` constant, a `*_PROTOCOL_VERSION` or
/// `*_PROGRAM_VERSION` constant and an enum named `*procedure`/`*Procedure`. Each member is a
/// procedure; its argument, result and event message are the types named like the member with
/// `_args`, `_ret` and `_msg` (compared lowercased without `_`, so that
/// `VIR_LXC_MONITOR_PROC_EXIT_EVENT` finds `virLXCMonitorExitEventMsg`).
fn libvirt_program(
    cx: &mut Cx,
    consts: &mut Consts,
    r: &Resolver,
    module: usize,
) -> Option<Program> {
    let syms = r.syms;
    let in_module = |suffixes: &[&str]| {
        syms.consts
            .iter()
            .find(|c| c.module == module && suffixes.iter().any(|s| c.name.name.ends_with(s)))
    };
    let program = in_module(&["_PROGRAM"])?;
    let version = in_module(&["_PROTOCOL_VERSION", "_PROGRAM_VERSION"])?;
    let (enum_index, enum_item) = syms.types.iter().enumerate().find(|(_, t)| {
        t.module == module
            && matches!(t.body, Body::Enum(_))
            && (t.name.name.ends_with("procedure") || t.name.name.ends_with("Procedure"))
    })?;
    let number = check_number(cx, consts, r, program.value, "program");
    let vnum = number_of_const(cx, consts, r, version.value);

    let by_norm: HashMap<String, usize> = syms
        .types
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| (normalise(&t.name.name), i))
        .collect();
    let find = |prefix: &str, rest: &str, suffix: &str| {
        by_norm
            .get(&normalise(&format!("{prefix}{rest}{suffix}")))
            .map(|&i| Type::Named(r.type_ref(i)))
    };
    let members = syms.members(enum_index);
    let names: Vec<&str> = members.iter().map(|m| m.name.name.as_str()).collect();
    let variants = naming::variant_names(&names);
    let mut procedures = Vec::new();
    for (i, (m, variant_name)) in members.iter().zip(variants).enumerate() {
        let value = consts.member(cx, syms, enum_index, i).unwrap_or(0);
        let pnum = u32::try_from(value).unwrap_or_else(|_| {
            cx.error(
                m.name.span,
                format!("procedure number {value} of `{}` is negative", m.name.name),
            );
            0
        });
        let (prefix, rest) = m
            .name
            .name
            .split_once("_PROC_")
            .unwrap_or(("", m.name.name.as_str()));
        procedures.push(Procedure {
            xdr_name: m.name.name.clone(),
            method_name: naming::method_name(&m.name.name),
            variant_name,
            number: pnum,
            args: find(prefix, rest, "args").into_iter().collect(),
            result: find(prefix, rest, "ret"),
            message: find(prefix, rest, "msg"),
            annotations: annotations(cx, &m.doc),
            docs: cx.docs(Some(&m.doc), None),
        });
    }
    let spans: Vec<Span> = members.iter().map(|m| m.name.span).collect();
    super::names::check_procedures(cx, &procedures, &spans);
    Some(Program {
        xdr_name: program.name.name.clone(),
        rust_name: naming::program_name(&program.name.name),
        number,
        versions: vec![ProgramVersion {
            xdr_name: version.name.name.clone(),
            number: vnum,
            procedures,
        }],
        style: ProgramStyle::Libvirt,
        docs: cx.docs(enum_item.doc, None),
    })
}

/// A version constant's value as a version number.
fn number_of_const(cx: &mut Cx, consts: &mut Consts, r: &Resolver, v: &Value) -> u32 {
    check_number(cx, consts, r, v, "version")
}

/// A name lowercased without `_`, for matching procedure names to type names.
fn normalise(name: &str) -> String {
    name.chars()
        .filter(|&c| c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// libvirt's `@key: value` annotations; a bad value of a known key is an error at its line.
pub(super) fn annotations(cx: &mut Cx, doc: &ast::Doc) -> Annotations {
    let mut out = Annotations::default();
    for a in &doc.annotations {
        let v = a.value.as_str();
        let bad = |cx: &mut Cx, expected: &str| {
            cx.error(
                a.span,
                format!("invalid value `{v}` for @{}: expected {expected}", a.key),
            )
        };
        match a.key.as_str() {
            "generate" => match v {
                "both" => out.generate = Some(Generate::Both),
                "client" => out.generate = Some(Generate::Client),
                "server" => out.generate = Some(Generate::Server),
                "none" => out.generate = Some(Generate::None),
                _ => bad(cx, "both, client, server or none"),
            },
            "acl" => out.acl.push(v.to_string()),
            "aclfilter" => out.aclfilter.push(v.to_string()),
            "priority" => match v {
                "high" => out.high_priority = true,
                "low" => out.high_priority = false,
                _ => bad(cx, "high or low"),
            },
            "readstream" | "writestream" => match v.parse::<u32>() {
                Ok(n) if a.key == "readstream" => out.readstream = Some(n),
                Ok(n) => out.writestream = Some(n),
                Err(_) => bad(cx, "an argument index (a number)"),
            },
            "sparseflag" if !v.is_empty() => out.sparseflag = Some(v.to_string()),
            "sparseflag" => bad(cx, "a flag name"),
            _ => out.other.push((a.key.clone(), v.to_string())),
        }
    }
    out
}
