//! The small C-preprocessor pass that runs before the grammar, as `cpp -C` runs before rpcgen.
//!
//! Every byte keeps its offset: directive lines, `%` lines, comments and the lines of skipped
//! `#if` branches are overwritten with spaces (newlines kept), so the grammar sees plain `.x`
//! tokens and every span it reports is a span of the original file. What was blanked is returned
//! on the side: comments (for docs), `%` pass-through lines, `#define`d constants and `#include`s.
//!
//! Deliberate differences from cpp: macros are not substituted in the text (a `#define NAME 10`
//! becomes a constant that `.x` text refers to by name, which gives the same result for the
//! values `.x` files use); each file starts with no names defined (`RPC_HDR` etc. stay undefined,
//! so `#ifdef RPC_HDR` blocks, which hold C, are skipped); an included file is parsed on its own,
//! with its own defines.

use std::collections::HashMap;

use crate::ast::{
    Builtin, DeclType, Declaration, Definition, DefinitionKind, Doc, Ident, TypeSpec, Value,
};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{FileId, Span};

use super::cond_expr;
use super::grammar::{Rule, XdrParser};

/// A comment's byte range, delimiters included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Comment {
    /// Offset of `/*` or `//`.
    pub start: usize,
    /// One past `*/`, or the end of the line for `//`.
    pub end: usize,
}

/// A `%` line.
#[derive(Debug, Clone)]
pub(crate) struct PassThrough {
    /// The text after `%`.
    pub text: String,
    /// The whole line, `%` included.
    pub span: Span,
}

/// An `#include "file"` to follow.
#[derive(Debug, Clone)]
pub(crate) struct Include {
    /// The file name as written between the quotes.
    pub path: String,
    /// Where the quoted name was written.
    pub span: Span,
}

/// What the pass produced.
#[derive(Debug, Clone)]
pub(crate) struct Preprocessed {
    /// The source with everything that is not `.x` tokens blanked; same length as the source.
    pub text: String,
    /// Comments of active regions, in order.
    pub comments: Vec<Comment>,
    /// `%` lines of active regions, in order.
    pub pass_through: Vec<PassThrough>,
    /// `#define NAME value` as constants, and `%#define NAME <integer expression>` as
    /// [`DefinitionKind::PassConst`]s, in order (docs are attached later).
    pub defines: Vec<Definition>,
    /// `#include "..."` lines of active regions, in order.
    pub includes: Vec<Include>,
    /// True when the text cannot be parsed meaningfully (unterminated comment or `#if`).
    pub fatal: bool,
}

/// One open `#if` / `#ifdef` / `#ifndef`.
#[derive(Debug)]
struct Cond {
    /// Whether the enclosing region is active.
    parent_active: bool,
    /// Whether the current branch is active.
    taking: bool,
    /// Whether some branch has been taken already (later `#elif`/`#else` are then skipped).
    taken_any: bool,
    /// Whether `#else` was seen.
    seen_else: bool,
    /// Where the directive was written, for "unterminated" errors.
    span: Span,
    /// The same three, seen as rpcgen's header pass sees them (`RPC_HDR` defined): `%` lines
    /// there reach the C header, which every C file of the program includes.
    hdr_parent: bool,
    hdr_taking: bool,
    hdr_taken_any: bool,
}

/// A directive's logical line: its text with comments turned into spaces and `\`-newlines
/// removed, and the source offset of every byte of that text.
struct Logical {
    text: String,
    offsets: Vec<usize>,
    /// Source range the directive occupies (to blank).
    start: usize,
    end: usize,
    /// Start of a comment opened in the directive and never closed.
    open_comment: Option<usize>,
}

struct Pass<'a> {
    file: FileId,
    src: &'a str,
    bytes: &'a [u8],
    out: Vec<u8>,
    diags: &'a mut Diagnostics,
    conds: Vec<Cond>,
    macros: HashMap<String, String>,
    /// Values of the `%#define`d integer constants so far (what C sees).
    pass_values: HashMap<String, String>,
    result: Preprocessed,
}

/// Runs the pass over one file's text.
pub(crate) fn preprocess(file: FileId, src: &str, diags: &mut Diagnostics) -> Preprocessed {
    let mut pass = Pass {
        file,
        src,
        bytes: src.as_bytes(),
        out: src.as_bytes().to_vec(),
        diags,
        conds: Vec::new(),
        macros: HashMap::new(),
        pass_values: HashMap::new(),
        result: Preprocessed {
            text: String::new(),
            comments: Vec::new(),
            pass_through: Vec::new(),
            defines: Vec::new(),
            includes: Vec::new(),
            fatal: false,
        },
    };
    pass.run();
    let Pass {
        out,
        mut result,
        conds,
        diags,
        ..
    } = pass;
    for cond in conds.iter().rev() {
        diags.push(Diagnostic::error(
            cond.span,
            "unterminated `#if`: no matching `#endif`",
        ));
        result.fatal = true;
    }
    // Only whole characters were overwritten by ASCII spaces, so this cannot fail; the fallback
    // keeps the function total should that ever change.
    result.text = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    result
}

impl Pass<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn active(&self) -> bool {
        self.conds.last().is_none_or(|c| c.taking)
    }

    /// Whether the region is active for rpcgen's header pass (`RPC_HDR` defined).
    fn hdr_active(&self) -> bool {
        self.conds.last().is_none_or(|c| c.hdr_taking)
    }

    /// Overwrites `start..end` with spaces, keeping newlines.
    fn blank(&mut self, start: usize, end: usize) {
        for b in &mut self.out[start..end.min(self.bytes.len())] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }

    fn line_end(&self, from: usize) -> usize {
        self.bytes[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |i| from + i)
    }

    fn run(&mut self) {
        let len = self.bytes.len();
        let mut pos = 0;
        // Start of a `/* ... */` comment still open at the start of the current line.
        let mut open_comment: Option<usize> = None;
        while pos < len {
            let line_end = self.line_end(pos);
            if open_comment.is_none() {
                let first = pos
                    + self.bytes[pos..line_end]
                        .iter()
                        .take_while(|b| **b == b' ' || **b == b'\t')
                        .count();
                if first < line_end && self.bytes[first] == b'#' {
                    let logical = self.logical_line(pos, first);
                    self.blank(logical.start, logical.end);
                    if let Some(start) = logical.open_comment {
                        self.diags.push(Diagnostic::error(
                            self.span(start, start + 2),
                            "unterminated comment",
                        ));
                        self.result.fatal = true;
                        break;
                    }
                    self.directive(&logical);
                    pos = logical.end + 1;
                    continue;
                }
                // Only a `%` in column 0 starts a pass-through line, as in rpcgen.
                if self.bytes[pos] == b'%' {
                    let text = self.src[pos + 1..line_end].trim_end_matches('\r');
                    if self.active() || self.hdr_active() {
                        self.pass_define(text, self.span(pos, line_end));
                    }
                    if self.active() {
                        self.result.pass_through.push(PassThrough {
                            text: text.to_string(),
                            span: self.span(pos, line_end),
                        });
                    }
                    self.blank(pos, line_end);
                    pos = line_end + 1;
                    continue;
                }
            }
            let active = self.active();
            open_comment = self.scan_text(pos, line_end, open_comment, active);
            if !active {
                self.blank(pos, line_end);
            }
            pos = line_end + 1;
        }
        if let Some(start) = open_comment {
            self.diags.push(Diagnostic::error(
                self.span(start, start + 2),
                "unterminated comment",
            ));
            self.result.fatal = true;
        }
    }

    /// Scans `.x` text from `from` to `end` (one line) for comments, records and blanks them.
    /// Returns the start of a `/*` comment still open at `end`.
    fn scan_text(
        &mut self,
        from: usize,
        end: usize,
        mut open: Option<usize>,
        active: bool,
    ) -> Option<usize> {
        let mut i = from;
        while i < end {
            if let Some(start) = open {
                if self.bytes[i..end].starts_with(b"*/") {
                    i += 2;
                    self.end_comment(start, i, active);
                    open = None;
                } else {
                    i += 1;
                }
            } else if self.bytes[i..end].starts_with(b"/*") {
                open = Some(i);
                i += 2;
            } else if self.bytes[i..end].starts_with(b"//") {
                // rpcgen rejects `//` comments; other XDR compilers accept them, and they have
                // only one meaning, so xdrgen accepts them too.
                self.end_comment(i, end, active);
                i = end;
            } else {
                i += 1;
            }
        }
        if let Some(start) = open {
            // Blank the part of the open comment on this line; the rest is blanked on close.
            self.blank(start.max(from), end);
        }
        open
    }

    fn end_comment(&mut self, start: usize, end: usize, active: bool) {
        self.blank(start, end);
        if active {
            self.result.comments.push(Comment { start, end });
        }
    }

    /// Collects a directive starting at `hash` (the `#`) on the line starting at `line_start`:
    /// `\`-newline continues it, and a comment opened in it runs on until it closes.
    fn logical_line(&self, line_start: usize, hash: usize) -> Logical {
        let b = self.bytes;
        let mut text = String::new();
        let mut offsets = Vec::new();
        let mut i = hash;
        let mut in_comment = None;
        let mut end = b.len();
        while i < b.len() {
            if in_comment.is_some() {
                if b[i..].starts_with(b"*/") {
                    in_comment = None;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            if b[i..].starts_with(b"\\\n") || b[i..].starts_with(b"\\\r\n") {
                i += if b[i + 1] == b'\r' { 3 } else { 2 };
                continue;
            }
            if b[i] == b'\n' {
                end = i;
                break;
            }
            if b[i..].starts_with(b"/*") {
                in_comment = Some(i);
                text.push(' ');
                offsets.push(i);
                i += 2;
                continue;
            }
            if b[i..].starts_with(b"//") {
                end = self.line_end(i);
                break;
            }
            // Copy one whole character.
            let ch_len = self.src[i..].chars().next().map_or(1, char::len_utf8);
            text.push_str(&self.src[i..i + ch_len]);
            offsets.extend(i..i + ch_len);
            i += ch_len;
        }
        Logical {
            text,
            offsets,
            start: line_start,
            end,
            open_comment: in_comment,
        }
    }

    fn directive(&mut self, line: &Logical) {
        let text = line.text.as_str();
        // `text` starts with `#`.
        let after_hash = &text[1..];
        let name_start = 1 + (after_hash.len() - after_hash.trim_start().len());
        let name_len = text[name_start..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let name = &text[name_start..name_start + name_len];
        let args_at = name_start + name_len;
        let args = text[args_at..].trim();
        let args_offset = args_at + (text[args_at..].len() - text[args_at..].trim_start().len());
        let offset_of = |i: usize| line.offsets.get(i).copied().unwrap_or(line.end);
        let hash_at = offset_of(0);
        let span = self.span(hash_at, line.end);
        let name_span = self.span(hash_at, offset_of(args_at.min(text.len())));
        match name {
            "ifdef" | "ifndef" => {
                let parent = self.active();
                let target = args.split_whitespace().next().unwrap_or("");
                let defined = self.macros.contains_key(target);
                if parent && target.is_empty() {
                    self.diags
                        .push(Diagnostic::error(span, format!("`#{name}` needs a name")));
                }
                let taking = parent && (defined == (name == "ifdef")) && !target.is_empty();
                let hdr_parent = self.hdr_active();
                let hdr_defined = defined || target == "RPC_HDR";
                let hdr_taking =
                    hdr_parent && (hdr_defined == (name == "ifdef")) && !target.is_empty();
                self.push_cond(parent, taking, span, (hdr_parent, hdr_taking));
            }
            "if" => {
                let parent = self.active();
                let taking = parent && self.eval(args, span);
                let hdr_parent = self.hdr_active();
                let hdr_taking = hdr_parent && self.eval_hdr(args);
                self.push_cond(parent, taking, span, (hdr_parent, hdr_taking));
            }
            "elif" => {
                let Some(top) = self.conds.last() else {
                    return self.unmatched(name, span);
                };
                if top.seen_else {
                    self.diags
                        .push(Diagnostic::error(span, "`#elif` after `#else`"));
                }
                let try_it = top.parent_active && !top.taken_any;
                let hdr_try = top.hdr_parent && !top.hdr_taken_any;
                let taking = try_it && self.eval(args, span);
                let hdr_taking = hdr_try && self.eval_hdr(args);
                if let Some(top) = self.conds.last_mut() {
                    top.taking = taking;
                    top.taken_any |= taking;
                    top.hdr_taking = hdr_taking;
                    top.hdr_taken_any |= hdr_taking;
                }
            }
            "else" => {
                let Some(top) = self.conds.last_mut() else {
                    return self.unmatched(name, span);
                };
                let twice = top.seen_else;
                top.taking = top.parent_active && !top.taken_any;
                top.taken_any = true;
                top.hdr_taking = top.hdr_parent && !top.hdr_taken_any;
                top.hdr_taken_any = true;
                top.seen_else = true;
                if twice {
                    self.diags
                        .push(Diagnostic::error(span, "second `#else` for one `#if`"));
                }
            }
            "endif" => {
                if self.conds.pop().is_none() {
                    self.unmatched(name, span);
                }
            }
            _ if !self.active() => {}
            "define" => self.define(line, args_offset, span),
            "undef" => {
                let target = args.split_whitespace().next().unwrap_or("");
                self.macros.remove(target);
            }
            "include" => self.include(line, args, args_offset, span),
            "" => {} // A lone `#` is cpp's null directive.
            "error" => self
                .diags
                .push(Diagnostic::error(span, format!("`#error` {args}"))),
            "pragma" => self.diags.push(Diagnostic::warning(
                name_span,
                "`#pragma` ignored: it has no meaning for XDR",
            )),
            _ => self.diags.push(Diagnostic::warning(
                name_span,
                format!("unknown directive `#{name}` ignored"),
            )),
        }
    }

    /// Opens a conditional; `hdr` is (parent active, taking) for rpcgen's header pass.
    fn push_cond(&mut self, parent_active: bool, taking: bool, span: Span, hdr: (bool, bool)) {
        self.conds.push(Cond {
            parent_active,
            taking,
            taken_any: taking,
            seen_else: false,
            span,
            hdr_parent: hdr.0,
            hdr_taking: hdr.1,
            hdr_taken_any: hdr.1,
        });
    }

    /// An `#if` expression as rpcgen's header pass evaluates it (`RPC_HDR` defined); errors
    /// are reported by [`Pass::eval`], not here.
    fn eval_hdr(&self, expr: &str) -> bool {
        let mut macros = self.macros.clone();
        macros.insert("RPC_HDR".to_string(), "1".to_string());
        cond_expr::evaluate(expr, &macros).is_ok_and(|v| v != 0)
    }

    fn unmatched(&mut self, name: &str, span: Span) {
        self.diags
            .push(Diagnostic::error(span, format!("`#{name}` without `#if`")));
    }

    fn eval(&mut self, expr: &str, span: Span) -> bool {
        match cond_expr::evaluate(expr, &self.macros) {
            Ok(v) => v != 0,
            Err(why) => {
                self.diags.push(Diagnostic::error(
                    span,
                    format!("cannot evaluate `#if` expression: {why}"),
                ));
                false
            }
        }
    }

    /// `#define NAME [value]`: remembered for `#if`; a literal or name value also becomes a
    /// constant of the file.
    fn define(&mut self, line: &Logical, args_offset: usize, span: Span) {
        let text = &line.text;
        let rest = &text[args_offset.min(text.len())..];
        let name_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let offset_of = |i: usize| line.offsets.get(i).copied().unwrap_or(line.end);
        if name_len == 0 || rest.as_bytes()[0].is_ascii_digit() {
            self.diags
                .push(Diagnostic::error(span, "`#define` needs a name"));
            return;
        }
        let name = &rest[..name_len];
        let name_span = self.span(offset_of(args_offset), offset_of(args_offset + name_len));
        let after = &rest[name_len..];
        if after.starts_with('(') {
            self.diags.push(Diagnostic::warning(
                name_span,
                format!("function-like macro `{name}` ignored"),
            ));
            return;
        }
        let body = after.trim();
        self.macros.insert(name.to_string(), body.to_string());
        if body.is_empty() {
            return;
        }
        let body_at = args_offset + name_len + (after.len() - after.trim_start().len());
        let body_span = self.span(offset_of(body_at), offset_of(body_at + body.len()));
        let name = Ident {
            name: name.to_string(),
            span: name_span,
        };
        let kind = if let Some(value) = define_value(body, body_span) {
            DefinitionKind::Const { name, value }
        } else if let Some(ty) = define_builtin(body) {
            // cpp would put the type wherever NAME is written: a typedef means the same.
            DefinitionKind::Typedef(Declaration::Named {
                name,
                ty: DeclType::Plain(TypeSpec::Builtin {
                    ty,
                    span: body_span,
                }),
                span,
            })
        } else {
            self.diags.push(Diagnostic::warning(
                body_span,
                format!(
                    "`#define {}` ignored: only a number, a name or a built-in type can stand for it in XDR",
                    name.name
                ),
            ));
            return;
        };
        self.result.defines.push(Definition {
            doc: Doc::default(),
            kind,
            span,
        });
    }

    /// `%#define NAME <integer expression>`: C sees a constant, so the unit gets one too. Only
    /// object-like macros whose body is an integer expression of literals and earlier
    /// `%#define` constants count; anything else (`%#define opaque char`, macros with
    /// parameters, a body continued with `\`) is C's business and ignored quietly.
    fn pass_define(&mut self, text: &str, span: Span) {
        let Some(rest) = text.trim_start().strip_prefix("#define") else {
            return;
        };
        if !rest.starts_with([' ', '\t']) {
            return;
        }
        let rest = rest.trim_start();
        let name_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if name_len == 0 || rest.as_bytes()[0].is_ascii_digit() {
            return;
        }
        let (name, after) = rest.split_at(name_len);
        if after.starts_with('(') {
            return;
        }
        let body = strip_c_comments(after);
        let body = body.trim();
        if body.is_empty() || body.ends_with('\\') {
            return;
        }
        if !c_identifiers(body).all(|id| self.pass_values.contains_key(id)) {
            return;
        }
        let Ok(value) = cond_expr::evaluate(body, &self.pass_values) else {
            return;
        };
        self.pass_values
            .insert(name.to_string(), format!("({value})"));
        self.result.defines.push(Definition {
            doc: Doc::default(),
            kind: DefinitionKind::PassConst {
                name: Ident {
                    name: name.to_string(),
                    span,
                },
                value: Value::Literal {
                    value: i128::from(value),
                    span,
                },
            },
            span,
        });
    }

    fn include(&mut self, line: &Logical, args: &str, args_offset: usize, span: Span) {
        let offset_of = |i: usize| line.offsets.get(i).copied().unwrap_or(line.end);
        let args_span = self.span(offset_of(args_offset), offset_of(args_offset + args.len()));
        if let Some(inner) = args.strip_prefix('"') {
            if let Some(close) = inner.find('"') {
                self.result.includes.push(Include {
                    path: inner[..close].to_string(),
                    span: self.span(offset_of(args_offset), offset_of(args_offset + close + 2)),
                });
                return;
            }
        }
        if args.starts_with('<') {
            self.diags.push(Diagnostic::warning(
                args_span,
                format!("`#include {args}` ignored: only `#include \"file.x\"` is followed"),
            ));
            return;
        }
        self.diags.push(Diagnostic::error(
            if args.is_empty() { span } else { args_span },
            "`#include` expects \"file.x\"",
        ));
    }
}

/// `text` with its C comments (`/* … */`, `// …`) removed.
fn strip_c_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                out.push(' ');
                match rest[b + 2..].find("*/") {
                    Some(end) => rest = &rest[b + 2 + end + 2..],
                    None => return out,
                }
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                return out;
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// The identifiers of a C expression (words that start with a letter or `_`; the letters of
/// number literals such as `0x1F` or `10UL` are not identifiers).
fn c_identifiers(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let start = i;
            let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
            if word(bytes[i]) {
                while i < bytes.len() && word(bytes[i]) {
                    i += 1;
                }
                if !bytes[start].is_ascii_digit() {
                    return Some(&text[start..i]);
                }
            } else {
                i += 1;
            }
        }
        None
    })
}

/// The value of a `#define` body when it is one literal (optionally negative, optionally in
/// parentheses) or one name.
/// The built-in type a `#define` body spells (`int`, `unsigned long`, `short int`, ...).
fn define_builtin(body: &str) -> Option<Builtin> {
    use pest::Parser;
    let mut pairs = XdrParser::parse(Rule::define_builtin, body).ok()?;
    let builtin = pairs.next()?.into_inner().next()?;
    Some(super::build::builtin(builtin))
}

fn define_value(body: &str, span: Span) -> Option<Value> {
    let inner = body
        .strip_prefix('(')
        .and_then(|b| b.strip_suffix(')'))
        .map_or(body, str::trim);
    let (negative, digits) = match inner.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, inner),
    };
    if digits.starts_with(|c: char| c.is_ascii_digit()) {
        let v = i128::from(cond_expr::parse_c_integer(digits)? as u64);
        return Some(Value::Literal {
            value: if negative { -v } else { v },
            span,
        });
    }
    let is_name = !negative
        && inner.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !super::errors::KEYWORDS.contains(&inner);
    is_name.then(|| {
        Value::Named(Ident {
            name: inner.to_string(),
            span,
        })
    })
}
