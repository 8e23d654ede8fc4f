//! `.x` text → [`crate::ast`]: a C-preprocessor pass, then a pest grammar.
//!
//! ```text
//! source ─► preprocess (directives, %-lines, comments → blanks; same offsets)
//!        ─► grammar.pest ─► build (pairs → AST, docs attached) ─► ast::File
//! ```
//!
//! Accepted language: RFC 4506 §6 and RFC 5531 §12 plus rpcgen's dialect (see
//! `docs/rpcgen-dialect.md`). Beyond rpcgen, xdrgen also accepts `//` comments, a trailing comma
//! after the last enum member, procedures with several arguments, and nested anonymous
//! `struct`/`union`/`enum` types in declarations (RFC 4506 allows them).

mod build;
mod cond_expr;
mod doc;
mod errors;
mod grammar;
mod preprocess;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use pest::Parser;

use crate::ast;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{FileId, SourceMap, Span};

use grammar::{Rule, XdrParser};
use preprocess::Include;

/// Deepest `{` nesting accepted; deeper input is refused before parsing so that neither the
/// grammar nor the AST walk can exhaust the stack on hostile input.
const MAX_NESTING: usize = 64;

/// Deepest chain of `#include`s followed.
const MAX_INCLUDE_DEPTH: usize = 32;

/// One parsed file of a unit.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    /// The file in the [`SourceMap`].
    pub id: FileId,
    /// Its syntax tree.
    pub ast: ast::File,
}

/// Reads and parses files (and the files they `#include`), adding them to `sources`; problems go
/// to `diagnostics`. Files that fail to parse are left out of the result.
///
/// Every file is parsed once, even when named twice or included from several files; an included
/// file comes before the file that includes it. `#include "x.x"` is resolved relative to the
/// including file's directory.
pub fn parse_files(
    paths: &[PathBuf],
    sources: &mut SourceMap,
    diagnostics: &mut Diagnostics,
) -> Vec<ParsedFile> {
    let mut unit = Unit {
        sources,
        diagnostics,
        seen: HashSet::new(),
        parsed: Vec::new(),
    };
    for path in paths {
        unit.load(path.clone(), None, 0);
    }
    unit.parsed
}

/// Parses `text` as a file named `path` without reading it from disk (for tests and tools).
///
/// `#include "x.x"` lines are not parsed here: each one is only checked to exist relative to
/// `path`'s directory (itself relative to the current directory), and reported when missing.
/// Returns `None` when the file has errors (they are in `diagnostics`).
pub fn parse_source(
    sources: &mut SourceMap,
    path: &str,
    text: &str,
    diagnostics: &mut Diagnostics,
) -> Option<ParsedFile> {
    let id = sources.add(path, text.to_string());
    let (ast, includes) = parse_one(id, sources, diagnostics);
    let dir = include_dir(sources, id);
    let mut missing = false;
    for include in includes {
        let target = dir.join(&include.path);
        if !target.is_file() {
            diagnostics.push(missing_include(&include, &target, "not found"));
            missing = true;
        }
    }
    ast.filter(|_| !missing).map(|ast| ParsedFile { id, ast })
}

/// The files of one `parse_files` call.
struct Unit<'a> {
    sources: &'a mut SourceMap,
    diagnostics: &'a mut Diagnostics,
    /// Canonical paths already loaded (each file is parsed once; include cycles stop here).
    seen: HashSet<PathBuf>,
    parsed: Vec<ParsedFile>,
}

impl Unit<'_> {
    fn load(&mut self, path: PathBuf, site: Option<&Include>, depth: usize) {
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if self.seen.contains(&key) {
            return;
        }
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.diagnostics.push(match site {
                    Some(include) => missing_include(include, &path, &e.to_string()),
                    None => Diagnostic::global(format!("cannot read `{}`: {e}", path.display())),
                });
                return;
            }
        };
        self.seen.insert(key);
        // Comments of real files hold Latin-1 names now and then; rpcgen passes any byte.
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let id = self.sources.add(path, text);
        let (ast, includes) = parse_one(id, self.sources, self.diagnostics);
        let dir = include_dir(self.sources, id);
        for include in &includes {
            if depth >= MAX_INCLUDE_DEPTH {
                self.diagnostics.push(Diagnostic::error(
                    include.span,
                    format!("`#include` nested more than {MAX_INCLUDE_DEPTH} deep"),
                ));
                break;
            }
            self.load(dir.join(&include.path), Some(include), depth + 1);
        }
        if let Some(ast) = ast {
            self.parsed.push(ParsedFile { id, ast });
        }
    }
}

fn include_dir(sources: &SourceMap, id: FileId) -> PathBuf {
    sources
        .file(id)
        .path
        .parent()
        .map_or_else(PathBuf::new, Path::to_path_buf)
}

fn missing_include(include: &Include, resolved: &Path, why: &str) -> Diagnostic {
    Diagnostic::error(
        include.span,
        format!("cannot include `{}`: {why}", include.path),
    )
    .with_note(format!("looked for `{}`", resolved.display()))
}

fn error_count(diagnostics: &Diagnostics) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// Preprocesses and parses one file already in `sources`. Returns its AST (when no error was
/// found in it) and the `#include`s to follow.
fn parse_one(
    id: FileId,
    sources: &SourceMap,
    diagnostics: &mut Diagnostics,
) -> (Option<ast::File>, Vec<Include>) {
    let errors_before = error_count(diagnostics);
    let (ast, includes) = parse_text(id, sources, diagnostics);
    let ast = ast.filter(|_| error_count(diagnostics) == errors_before);
    (ast, includes)
}

/// [`parse_one`] without the error accounting.
fn parse_text(
    id: FileId,
    sources: &SourceMap,
    diagnostics: &mut Diagnostics,
) -> (Option<ast::File>, Vec<Include>) {
    let src = sources.file(id).text.as_str();
    let pre = preprocess::preprocess(id, src, diagnostics);
    if pre.fatal {
        return (None, pre.includes);
    }
    if let Some(at) = too_deep(&pre.text) {
        diagnostics.push(Diagnostic::error(
            Span::new(id, at, at + 1),
            format!("nesting deeper than {MAX_NESTING} levels of `{{`"),
        ));
        return (None, pre.includes);
    }
    let pairs = match XdrParser::parse(Rule::file, &pre.text) {
        Ok(pairs) => pairs,
        Err(e) => {
            diagnostics.push(errors::to_diagnostic(&e, id, &pre.text));
            return (None, pre.includes);
        }
    };
    let docs = doc::Docs::new(id, src, &pre.text, &pre.comments);
    let mut builder = build::Builder::new(id, docs, diagnostics);
    let definitions: Vec<ast::Definition> = pairs.flat_map(|p| builder.file(p)).collect();
    let docs = doc::Docs::new(id, src, &pre.text, &pre.comments);
    let mut items: Vec<ast::Item> = Vec::new();
    // `%` lines inside a definition are C for rpcgen's output and carry nothing for the AST.
    let inside_definition = |span: Span| {
        definitions
            .iter()
            .any(|d| d.span.start <= span.start && span.end <= d.span.end)
    };
    for p in &pre.pass_through {
        if !inside_definition(p.span) {
            items.push(ast::Item::PassThrough {
                text: p.text.clone(),
                span: p.span,
            });
        }
    }
    for mut define in pre.defines {
        define.doc = docs.leading(define.span.start as usize);
        items.push(ast::Item::Definition(define));
    }
    items.extend(definitions.into_iter().map(ast::Item::Definition));
    items.sort_by_key(|item| match item {
        ast::Item::Definition(d) => d.span.start,
        ast::Item::PassThrough { span, .. } => span.start,
    });
    (Some(ast::File { items }), pre.includes)
}

/// The offset of the first `{` nested deeper than [`MAX_NESTING`], if any.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}
