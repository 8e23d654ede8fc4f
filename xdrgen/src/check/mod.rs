//! Semantic checks: the AST of a unit → the [`crate::model::Model`], with every error collected.
//!
//! The files of a unit share one namespace (libvirt's `qemu_protocol.x` uses types of
//! `remote_protocol.x`). The passes, each in its own file:
//!
//! 1. `symbols`: collect definitions (anonymous nested types hoisted as `outer_field`), report
//!    duplicates;
//! 2. `consts`: evaluate constants and enum members on demand, report undefined names and cycles;
//! 3. `types` and `unions`: build the model's types, checking sizes, `void`, `quadruple`,
//!    union discriminants and case labels;
//! 4. `recursion`: infinite-size types, `recursive` and `boxed`;
//! 5. `sizes`: fixed-size arrays and types too large for a Rust value (over 64 KiB);
//! 6. `programs`: RFC 5531 `program` blocks and libvirt procedure enums;
//! 7. `names`: `.x` names that become the same Rust name.
//!
//! Every rule is a small function that pushes its errors into one [`Diagnostics`] and goes on, so
//! one run reports every problem.

mod consts;
mod names;
mod programs;
mod recursion;
mod sizes;
mod symbols;
mod types;
mod unions;

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_dialect;

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{Const, Docs, Model, Module, TextConst};
use crate::naming;
use crate::parse::ParsedFile;
use crate::source::{SourceMap, Span};

/// What the checker needs besides the files.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Constants defined outside the `.x` files (`--constant NAME=VALUE`).
    pub constants: BTreeMap<String, i128>,
    /// Types defined outside the `.x` files: `.x` name → Rust path.
    pub extern_types: BTreeMap<String, String>,
}

/// The doc comment given to user-supplied constants that the model carries (see [`check`]).
pub const USER_CONSTANT_DOC: &str =
    "Supplied to xdrgen (`--constant` / `Config::constant`); not defined in the .x files.";

/// Checks a parsed unit. Returns the model when there are no errors; every error found goes to
/// `diagnostics`.
///
/// User-supplied constants ([`Options::constants`]) that the files use become, in name order,
/// [`Model::user_constants`] with the doc [`USER_CONSTANT_DOC`], so that every
/// [`crate::model::Size::name`] names a constant the model defines; they belong to no module,
/// so their place does not depend on the order of the files. `TRUE` (1) and `FALSE` (0)
/// are known as libtirpc's C macros when no file or option defines them.
pub fn check(
    files: &[ParsedFile],
    options: &Options,
    sources: &SourceMap,
    diagnostics: &mut Diagnostics,
) -> Option<Model> {
    let errors_before = diagnostics.iter().filter(|d| d.is_error()).count();
    let mut cx = Cx {
        sources,
        diagnostics,
        options,
    };
    let module_names: Vec<String> = files
        .iter()
        .map(|f| naming::module_name(&sources.file(f.id).path.to_string_lossy()))
        .collect();
    names::check_module_names(&mut cx, files, &module_names);

    let syms = symbols::collect(&mut cx, files);
    consts::check_user_constants_not_redefined(&mut cx, &syms);
    let mut consts = consts::Consts::default();
    let resolver = types::Resolver {
        syms: &syms,
        module_names: &module_names,
    };
    let mut type_defs = resolver.build_all(&mut cx, &mut consts);
    recursion::analyse(&mut cx, &syms, &mut type_defs);
    sizes::check_fixed_sizes(&mut cx, &syms, &type_defs);
    types::warn_unsigned_char_array_typedefs(&mut cx, &syms, &type_defs);
    for (item, def) in syms.types.iter().zip(&type_defs) {
        names::check_type_scope(&mut cx, item, def);
    }
    let programs = programs::build(&mut cx, &mut consts, &resolver);
    let const_defs = build_consts(&mut cx, &mut consts, &syms);

    let mut modules: Vec<Module> = files
        .iter()
        .zip(&module_names)
        .map(|(f, name)| Module {
            name: name.clone(),
            path: sources.file(f.id).path.clone(),
            consts: Vec::new(),
            texts: Vec::new(),
            types: Vec::new(),
            programs: Vec::new(),
        })
        .collect();
    for (module, c) in const_defs {
        modules[module].consts.push(c);
    }
    for t in &syms.texts {
        modules[t.module].texts.push(TextConst {
            xdr_name: t.name.name.clone(),
            rust_name: naming::const_name(&t.name.name),
            text: t.text.to_string(),
            docs: cx.docs(t.doc, Some(t.span)),
        });
    }
    for (item, def) in syms.types.iter().zip(type_defs) {
        modules[item.module].types.push(def);
    }
    for (module, p) in programs {
        modules[module].programs.push(p);
    }
    let user_constants = consts
        .used_user
        .iter()
        .map(|name| Const {
            xdr_name: name.clone(),
            rust_name: naming::const_name(name),
            value: options.constants[name],
            docs: Docs {
                comment: vec![USER_CONSTANT_DOC.to_string()],
                definition: String::new(),
            },
        })
        .collect();
    for m in &modules {
        names::check_module_scope(&mut cx, &syms, m);
    }
    let errors_after = cx.diagnostics.iter().filter(|d| d.is_error()).count();
    (errors_after == errors_before).then_some(Model {
        modules,
        user_constants,
    })
}

/// Evaluates every `const` definition, in source order, paired with its module index.
fn build_consts(
    cx: &mut Cx,
    consts: &mut consts::Consts,
    syms: &symbols::Symbols,
) -> Vec<(usize, Const)> {
    syms.consts
        .iter()
        .map(|c| {
            let value = consts.of_const(cx, syms, c).unwrap_or(0);
            let def = Const {
                xdr_name: c.name.name.clone(),
                rust_name: naming::const_name(&c.name.name),
                value,
                docs: cx.docs(c.doc, Some(c.span)),
            };
            (c.module, def)
        })
        .collect()
}

/// The checker's context: where errors go, and what renders their locations.
pub(crate) struct Cx<'s> {
    sources: &'s SourceMap,
    diagnostics: &'s mut Diagnostics,
    options: &'s Options,
}

impl Cx<'_> {
    /// Reports an error at a span.
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::error(span, message));
    }

    /// Reports an error with notes.
    fn error_with(&mut self, span: Span, message: impl Into<String>, notes: &[String]) {
        let mut d = Diagnostic::error(span, message);
        d.notes.extend(notes.iter().cloned());
        self.diagnostics.push(d);
    }

    /// Reports a warning with a note.
    fn warning(&mut self, span: Span, message: impl Into<String>, note: String) {
        self.diagnostics
            .push(Diagnostic::warning(span, message).with_note(note));
    }

    /// Reports that something is defined twice, with a note pointing at the first definition.
    fn duplicate(&mut self, span: Span, message: impl Into<String>, first: Span) {
        let note = format!("first defined at {}", self.sources.location(first));
        self.error_with(span, message, &[note]);
    }

    /// The source text of a span as tokens (words and punctuation) joined by one space, for
    /// comparing two definitions as written whatever their spacing.
    fn normalized_text(&self, span: Span) -> String {
        let text = &self.sources.file(span.file).text;
        let text = text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        let mut spaced = String::with_capacity(text.len() * 2);
        for c in text.chars() {
            if c.is_ascii_punctuation() && c != '_' {
                spaced.extend([' ', c, ' ']);
            } else {
                spaced.push(c);
            }
        }
        spaced.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// `path:line:col` of a span.
    fn location(&self, span: Span) -> String {
        self.sources.location(span)
    }

    /// Docs for the model: the comment's lines, and the definition's source text when given.
    fn docs(&self, doc: Option<&crate::ast::Doc>, definition: Option<Span>) -> Docs {
        let comment = doc.map(|d| d.lines.clone()).unwrap_or_default();
        let definition = definition
            .and_then(|s| {
                self.sources
                    .file(s.file)
                    .text
                    .get(s.start as usize..s.end as usize)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        Docs {
            comment,
            definition,
        }
    }
}
