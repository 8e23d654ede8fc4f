//! Pass 6: `.x` names that would become the same Rust name in one scope.

use crate::ast::{Declaration, Value};
use crate::model::{Module, Procedure, TypeDef, TypeKind};
use crate::naming;
use crate::parse::ParsedFile;
use crate::source::Span;

use super::symbols::{Body, Symbols, TypeItem};
use super::Cx;

/// Rule: two `.x` names of one Rust scope may not map to the same Rust name.
pub(super) fn report(cx: &mut Cx, what: &str, items: &[(&str, &str, Span)]) {
    let pairs: Vec<(&str, &str)> = items.iter().map(|(x, r, _)| (*x, *r)).collect();
    for (first, second) in naming::collisions(&pairs) {
        let (a, rust, first_span) = items[first];
        let (b, _, span) = items[second];
        let note = format!("`{a}` is defined at {}", cx.location(first_span));
        cx.error_with(
            span,
            format!("{what} `{a}` and `{b}` both become `{rust}` in Rust"),
            &[note],
        );
    }
}

/// Module names (from file names) must differ.
pub(super) fn check_module_names(cx: &mut Cx, files: &[ParsedFile], names: &[String]) {
    let paths: Vec<String> = files
        .iter()
        .map(|f| cx.sources.file(f.id).path.display().to_string())
        .collect();
    let items: Vec<(&str, &str, Span)> = files
        .iter()
        .zip(&paths)
        .zip(names)
        .map(|((f, p), n)| (p.as_str(), n.as_str(), Span::new(f.id, 0, 0)))
        .collect();
    report(cx, "files", &items);
}

/// Types and constants of one module.
pub(super) fn check_module_scope(cx: &mut Cx, syms: &Symbols, module: &Module) {
    let span_of = |name: &str| syms.names.get(name).map(|(_, s)| *s);
    let types: Vec<(&str, &str, Span)> = module
        .types
        .iter()
        .filter_map(|t| {
            Some((
                t.xdr_name.as_str(),
                t.rust_name.as_str(),
                span_of(&t.xdr_name)?,
            ))
        })
        .collect();
    report(cx, "types", &types);
    let consts: Vec<(&str, &str, Span)> = module
        .consts
        .iter()
        .filter_map(|c| {
            Some((
                c.xdr_name.as_str(),
                c.rust_name.as_str(),
                span_of(&c.xdr_name)?,
            ))
        })
        .collect();
    report(cx, "constants", &consts);
}

/// Enum variants, struct fields and union variants of one type.
pub(super) fn check_type_scope(cx: &mut Cx, item: &TypeItem, def: &TypeDef) {
    match (&item.body, &def.kind) {
        (Body::Enum(body), TypeKind::Enum(e)) => {
            let items: Vec<(&str, &str, Span)> = body
                .members
                .iter()
                .zip(&e.members)
                .map(|(a, m)| (a.name.name.as_str(), m.rust_name.as_str(), a.name.span))
                .collect();
            report(cx, "enum members", &items);
        }
        (Body::Struct(body), TypeKind::Struct(s)) => {
            let spans = body.fields.iter().filter_map(|f| match &f.decl {
                Declaration::Named { name, .. } => Some(name.span),
                Declaration::Void { .. } => None,
            });
            let items: Vec<(&str, &str, Span)> = s
                .fields
                .iter()
                .zip(spans)
                .map(|(f, span)| (f.xdr_name.as_str(), f.rust_name.as_str(), span))
                .collect();
            report(cx, "fields", &items);
        }
        (Body::Union(body), TypeKind::Union(u)) => {
            let labels = body.arms.iter().flat_map(|a| &a.labels).map(Value::span);
            let texts: Vec<String> = u
                .cases
                .iter()
                .map(|c| c.label.clone().unwrap_or_else(|| c.value.to_string()))
                .collect();
            let items: Vec<(&str, &str, Span)> = u
                .cases
                .iter()
                .zip(&texts)
                .zip(labels)
                .map(|((c, t), span)| (t.as_str(), c.rust_name.as_str(), span))
                .collect();
            report(cx, "union cases", &items);
        }
        _ => {}
    }
}

/// Method and variant names of one program version's procedures (`spans` in the same order).
pub(super) fn check_procedures(cx: &mut Cx, procedures: &[Procedure], spans: &[Span]) {
    let methods: Vec<(&str, &str, Span)> = procedures
        .iter()
        .zip(spans)
        .map(|(p, s)| (p.xdr_name.as_str(), p.method_name.as_str(), *s))
        .collect();
    report(cx, "procedures", &methods);
    let variants: Vec<(&str, &str, Span)> = procedures
        .iter()
        .zip(spans)
        .map(|(p, s)| (p.xdr_name.as_str(), p.variant_name.as_str(), *s))
        .collect();
    report(cx, "procedures", &variants);
}
