//! Pass 4: types that contain themselves.
//!
//! Edges go from a type to the named types its fields use. An edge is *strong* when the value is
//! stored inline (a plain field, a union arm, a fixed array, a typedef) and *weak* through `*` or a
//! variable-length array, which are heap-allocated in Rust. A cycle of strong edges has infinite
//! size (an error); any cycle makes its types `recursive`; an optional field is `boxed` when its
//! pointee can reach the type that holds it.

use std::collections::{HashMap, VecDeque};

use crate::model::{Type, TypeDef, TypeKind};

use super::symbols::Symbols;
use super::Cx;

/// One use of a named type by another.
struct Edge {
    /// Index of the used type.
    to: usize,
    /// Stored inline (not behind `*` or `<>`).
    strong: bool,
    /// The field (or arm) that uses it, for messages; empty for typedefs.
    field: String,
}

/// Reports infinite-size types and fills in `recursive` and `boxed`.
pub(super) fn analyse(cx: &mut Cx, syms: &Symbols, defs: &mut [TypeDef]) {
    let names: Vec<String> = defs.iter().map(|d| d.xdr_name.clone()).collect();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let edges: Vec<Vec<Edge>> = defs.iter().map(|d| edges_of(d, &index)).collect();
    check_infinite_size(cx, syms, defs, &edges);
    for (i, def) in defs.iter_mut().enumerate() {
        def.recursive = on_cycle(&edges, i);
    }
    for (i, def) in defs.iter_mut().enumerate() {
        let set_boxed = |ty: &mut Type| {
            visit_optionals(ty, &mut |inner, boxed| {
                if let Type::Named(r) = inner {
                    if let Some(&to) = index.get(r.xdr_name.as_str()) {
                        *boxed = reaches(&edges, to, i);
                    }
                }
            })
        };
        match &mut def.kind {
            TypeKind::Alias(t) => set_boxed(t),
            TypeKind::Enum(_) => {}
            TypeKind::Struct(s) => s.fields.iter_mut().for_each(|f| set_boxed(&mut f.ty)),
            TypeKind::Union(u) => {
                u.cases
                    .iter_mut()
                    .filter_map(|c| c.field.as_mut())
                    .chain(u.default.iter_mut().flatten())
                    .for_each(|f| set_boxed(&mut f.ty));
            }
        }
    }
}

/// Rule: a type may not contain itself without `*` or `<>` in between (its size would be
/// infinite). Each cycle is reported once, at its first type in source order.
fn check_infinite_size(cx: &mut Cx, syms: &Symbols, defs: &[TypeDef], edges: &[Vec<Edge>]) {
    let mut reported = vec![false; defs.len()];
    for start in 0..defs.len() {
        if reported[start] {
            continue;
        }
        let Some(path) = strong_cycle(edges, start) else {
            continue;
        };
        if path.iter().any(|&(from, _)| reported[from]) {
            continue;
        }
        let mut text = defs[start].xdr_name.clone();
        for &(from, e) in &path {
            let edge = &edges[from][e];
            reported[from] = true;
            if edge.field.is_empty() {
                text.push_str(&format!(" -> {}", defs[edge.to].xdr_name));
            } else {
                text.push_str(&format!(".{} -> {}", edge.field, defs[edge.to].xdr_name));
            }
        }
        let item = &syms.types[start];
        let span = path
            .first()
            .and_then(|&(from, e)| syms.types[from].field_span(&edges[from][e].field))
            .unwrap_or(item.name.span);
        cx.error(
            span,
            format!(
                "{} `{}` contains itself without `*` (infinite size): {text}",
                item.body.keyword(),
                item.name.name
            ),
        );
    }
}

/// A shortest cycle of strong edges from `start` back to it: `(from, edge index)` steps.
fn strong_cycle(edges: &[Vec<Edge>], start: usize) -> Option<Vec<(usize, usize)>> {
    let mut prev: Vec<Option<(usize, usize)>> = vec![None; edges.len()];
    let mut queue = VecDeque::from([start]);
    let mut seen = vec![false; edges.len()];
    while let Some(n) = queue.pop_front() {
        for (k, e) in edges[n].iter().enumerate().filter(|(_, e)| e.strong) {
            if e.to == start {
                let mut path = vec![(n, k)];
                let mut at = n;
                while at != start {
                    let (p, pk) = prev[at]?;
                    path.push((p, pk));
                    at = p;
                }
                path.reverse();
                return Some(path);
            }
            if !seen[e.to] {
                seen[e.to] = true;
                prev[e.to] = Some((n, k));
                queue.push_back(e.to);
            }
        }
    }
    None
}

/// True when `to` can be reached from `from` (or is `from`).
fn reaches(edges: &[Vec<Edge>], from: usize, to: usize) -> bool {
    from == to || search(edges, vec![from], to)
}

/// True when `node` can reach itself through at least one edge.
fn on_cycle(edges: &[Vec<Edge>], node: usize) -> bool {
    search(edges, edges[node].iter().map(|e| e.to).collect(), node)
}

/// Depth-first search from `start` for `target`.
fn search(edges: &[Vec<Edge>], mut stack: Vec<usize>, target: usize) -> bool {
    let mut seen = vec![false; edges.len()];
    while let Some(n) = stack.pop() {
        if n == target {
            return true;
        }
        if std::mem::replace(&mut seen[n], true) {
            continue;
        }
        stack.extend(edges[n].iter().map(|e| e.to).filter(|&t| !seen[t]));
    }
    false
}

/// The named types a definition uses.
fn edges_of(def: &TypeDef, index: &HashMap<&str, usize>) -> Vec<Edge> {
    let mut out = Vec::new();
    let mut add = |ty: &Type, field: &str| collect(ty, true, field, index, &mut out);
    match &def.kind {
        TypeKind::Alias(t) => add(t, ""),
        TypeKind::Enum(_) => {}
        TypeKind::Struct(s) => s.fields.iter().for_each(|f| add(&f.ty, &f.xdr_name)),
        TypeKind::Union(u) => {
            u.arm_fields().for_each(|f| add(&f.ty, &f.xdr_name));
        }
    }
    out
}

/// Adds the edges of one field's type.
fn collect(
    ty: &Type,
    strong: bool,
    field: &str,
    index: &HashMap<&str, usize>,
    out: &mut Vec<Edge>,
) {
    match ty {
        Type::Named(r) => {
            if let Some(&to) = index.get(r.xdr_name.as_str()) {
                out.push(Edge {
                    to,
                    strong,
                    field: field.to_string(),
                });
            }
        }
        Type::FixedArray(inner, _) => collect(inner, strong, field, index, out),
        Type::VarArray(inner, _) => collect(inner, false, field, index, out),
        Type::Optional { inner, .. } => collect(inner, false, field, index, out),
        _ => {}
    }
}

/// Calls `f(inner, boxed)` for every optional type in `ty`.
fn visit_optionals(ty: &mut Type, f: &mut dyn FnMut(&Type, &mut bool)) {
    match ty {
        Type::Optional { inner, boxed } => {
            f(inner, boxed);
            visit_optionals(inner, f);
        }
        Type::FixedArray(inner, _) | Type::VarArray(inner, _) => visit_optionals(inner, f),
        _ => {}
    }
}
