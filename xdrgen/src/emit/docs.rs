//! `.x` comments and definitions → rustdoc attributes.
//!
//! Comment text is not Markdown written for rustdoc: indented lines would become Rust doctests,
//! `<domain>` an HTML tag, `[0]` an intra-doc link and bare URLs a lint. So each comment line is
//! trimmed and Markdown-escaped, URLs are wrapped in `<...>`, and the `.x` definition goes in a
//! `text` fence longer than any backtick run it contains, so rustdoc never compiles or
//! misreads it.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::Docs;

/// Doc attributes for an item: its comment (or `fallback` when it has none), then its `.x`
/// definition in a `text` block.
pub fn item_docs(docs: &Docs, fallback: &str) -> TokenStream {
    let mut lines = comment_lines(&docs.comment);
    if lines.is_empty() {
        lines.extend(fallback.lines().map(str::to_string));
    }
    if !docs.definition.trim().is_empty() {
        lines.push(String::new());
        lines.extend(fenced(&docs.definition));
    }
    attrs(&lines)
}

/// Doc attributes for a member, field or case: its comment, else `fallback`.
pub fn member_docs(docs: &Docs, fallback: &str) -> TokenStream {
    item_docs(
        &Docs {
            comment: docs.comment.clone(),
            definition: String::new(),
        },
        fallback,
    )
}

/// Doc attributes for a generated item that stands for a `.x` item: `summary` (Markdown written
/// by the emitter), then the `.x` item's comment, if any.
pub fn summary_docs(summary: &str, docs: &Docs) -> TokenStream {
    let mut lines: Vec<String> = summary.lines().map(str::to_string).collect();
    let comment = comment_lines(&docs.comment);
    if !comment.is_empty() {
        lines.push(String::new());
        lines.extend(comment);
    }
    attrs(&lines)
}

/// Like [`summary_docs`], for a procedure's method or event variant: libvirt's `@key: value`
/// lines are taken out of the comment and listed on one line as code, since Markdown would run
/// them into the prose around them.
pub fn procedure_docs(summary: &str, docs: &Docs) -> TokenStream {
    let is_annotation = |l: &&String| {
        let t = l.trim();
        t.starts_with('@') && t.contains(':') && !t.contains('`')
    };
    let (annotations, prose): (Vec<&String>, Vec<&String>) =
        docs.comment.iter().partition(is_annotation);
    let mut lines: Vec<String> = summary.lines().map(str::to_string).collect();
    let prose: Vec<String> = prose.into_iter().cloned().collect();
    let comment = comment_lines(&prose);
    if !comment.is_empty() {
        lines.push(String::new());
        lines.extend(comment);
    }
    if !annotations.is_empty() {
        let list: Vec<String> = annotations
            .iter()
            .map(|a| format!("`{}`", a.trim()))
            .collect();
        lines.push(String::new());
        lines.push(format!("libvirt annotations: {}.", list.join(", ")));
    }
    attrs(&lines)
}

/// Opens the text of a doc block's one attribute (see [`attrs`]).
const BLOCK: char = '\u{1e}';
/// Ends each line of a doc block but the last, inside its one attribute.
const LINE: char = '\u{1f}';

/// One `#[doc]` attribute holding all of `lines`: [`BLOCK`], then the lines joined by [`LINE`].
/// The printer puts it on one `///` line, which [`expand_blocks`] turns back into one `///` line
/// per line of the block.
///
/// An attribute per line reads the same once printed, but libvirt's doc comments are a quarter
/// of the generated lines, and parsing and printing each as an attribute cost about 8 % of the
/// generator's instructions on them (issue 13).
fn attrs(lines: &[String]) -> TokenStream {
    if lines.is_empty() {
        return TokenStream::new();
    }
    let mut text = String::from(BLOCK);
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            text.push(LINE);
        }
        // rustdoc strips one leading space, as after `///`.
        if !line.is_empty() {
            text.push(' ');
            // Control characters have no use in docs, and rustc rejects a doc comment with a
            // bare carriage return; the separators among them cannot stand in a line.
            text.extend(line.chars().map(|c| match c {
                '\t' => c,
                c if c.is_control() => char::REPLACEMENT_CHARACTER,
                c => c,
            }));
        }
    }
    quote!(#[doc = #text])
}

/// Appends `printed` (prettyplease's output) to `out` with each doc block [`attrs`] made, a
/// `///` line starting with [`BLOCK`], written out as one `///` line per line of the block at
/// the same indentation, trailing spaces trimmed as the printer trims them.
pub fn expand_blocks(printed: &str, out: &mut String) {
    if !printed.contains(BLOCK) {
        out.push_str(printed);
        return;
    }
    for line in printed.split_inclusive('\n') {
        let body = line.trim_start_matches(' ');
        let Some(block) = body.strip_prefix("///").and_then(|b| b.strip_prefix(BLOCK)) else {
            out.push_str(line);
            continue;
        };
        let indent = &line[..line.len() - body.len()];
        for text in block.trim_end_matches('\n').split(LINE) {
            out.push_str(indent);
            out.push_str("///");
            out.push_str(text.trim_end_matches(' '));
            out.push('\n');
        }
    }
}

/// The comment as doc lines. Plain prose is trimmed and escaped; a comment laid out with
/// indentation, lists or tables (libvirt's often are) keeps its layout in a `text` block after
/// its first line, since Markdown would reflow it (and clippy flags lazy list continuations).
fn comment_lines(comment: &[String]) -> Vec<String> {
    let lines = dedent(comment);
    let Some(first) = lines.iter().position(|l| !l.trim().is_empty()) else {
        return Vec::new();
    };
    let end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .unwrap_or(first);
    let lines = &lines[first..=end];
    if !lines.iter().any(|l| is_laid_out(l)) {
        return plain_lines(lines);
    }
    let mut out = Vec::new();
    let mut rest = lines;
    if !is_laid_out(&lines[0]) {
        out.push(escape_markdown(lines[0].trim()));
        rest = &lines[1..];
        while rest.first().is_some_and(|l| l.trim().is_empty()) {
            rest = &rest[1..];
        }
    }
    if !rest.is_empty() {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.extend(fenced(&rest.join("\n")));
    }
    out
}

/// Prose lines, trimmed and escaped, without doubled blank lines.
fn plain_lines(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        let line = escape_markdown(line.trim());
        if line.is_empty() && out.last().is_none_or(String::is_empty) {
            continue;
        }
        out.push(line);
    }
    out
}

/// Whether a line depends on its layout: indented (after dedenting), or opening like a Markdown
/// list, quote, heading, table or rule.
fn is_laid_out(line: &str) -> bool {
    let trimmed = line.trim_start();
    if trimmed.is_empty() {
        return false;
    }
    let numbered = {
        let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && trimmed[digits..].starts_with(['.', ')'])
    };
    trimmed.len() != line.len()
        || numbered
        || trimmed.starts_with(['-', '+', '*', '|', '#', '>', '=', '`', '~'])
        || line.contains('|')
}

/// The lines with tabs expanded, their common leading whitespace removed and trailing
/// whitespace dropped.
fn dedent(lines: &[String]) -> Vec<String> {
    let lines: Vec<String> = lines.iter().map(|l| expand_tabs(l)).collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| {
            let l = l.trim_end();
            // `indent` counts bytes of leading whitespace, which is ASCII or at char boundaries.
            l.get(indent.min(l.len() - l.trim_start().len())..)
                .unwrap_or(l)
                .to_string()
        })
        .collect()
}

/// Escapes the characters that make Markdown out of plain text, and wraps URLs so that rustdoc
/// links them instead of warning about bare URLs.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let is_url = (word.starts_with("http://") || word.starts_with("https://"))
            && !word.contains(['<', '>', '`']);
        if is_url {
            // A sentence's full stop or comma is not part of the link.
            let url = word.trim_end_matches(['.', ',', ';', ':', ')']);
            out.push('<');
            out.push_str(url);
            out.push('>');
            escape_into(&word[url.len()..], &mut out);
        } else {
            escape_into(word, &mut out);
        }
    }
    out
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '&' | '~' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Tabs become spaces up to the next multiple of 8, as C sources are usually viewed (clippy's
/// `tabs_in_doc_comments`).
fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut column = 0;
    for c in line.chars() {
        if c == '\t' {
            let n = 8 - column % 8;
            out.extend(std::iter::repeat_n(' ', n));
            column += n;
        } else {
            out.push(c);
            column += 1;
        }
    }
    out
}

/// `text` in a fenced `text` block whose fence is longer than any backtick run inside, so no
/// line of the definition can close it early.
fn fenced(text: &str) -> Vec<String> {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut lines = vec![format!("{fence}text")];
    lines.extend(text.lines().map(|l| expand_tabs(l.trim_end())));
    lines.push(fence);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_and_wraps_urls() {
        assert_eq!(
            escape_markdown("see <domain> [0] *x* at http://example.org/a."),
            r"see \<domain\> \[0\] \*x\* at <http://example.org/a>."
        );
    }

    #[test]
    fn tabs_expand_to_tab_stops() {
        assert_eq!(
            expand_tabs("a\tb\t\tc"),
            format!("a{}b{}c", " ".repeat(7), " ".repeat(15))
        );
    }

    #[test]
    fn fence_outgrows_backticks_inside() {
        let lines = fenced("struct a {\n  ```` int x;\n};");
        assert_eq!(lines.first().map(String::as_str), Some("`````text"));
        assert_eq!(lines.last().map(String::as_str), Some("`````"));
    }

    #[test]
    fn prose_is_escaped_and_blank_runs_collapse() {
        let lines = comment_lines(&[
            String::new(),
            " Sum of <a>:".into(),
            " all".into(),
            String::new(),
            String::new(),
            " end".into(),
            String::new(),
        ]);
        assert_eq!(lines, [r"Sum of \<a\>:", "all", "", "end"]);
    }

    #[test]
    fn procedure_docs_list_annotations_apart_from_the_prose() {
        let docs = Docs {
            comment: vec![
                "Sends data;".into(),
                "see <x>.".into(),
                "@generate: none".into(),
                " @acl: domain:write".into(),
            ],
            definition: String::new(),
        };
        let attrs = procedure_docs("Calls `P` (procedure 1).", &docs);
        let mut text = String::new();
        super::super::format_into(&mut text, quote!(#attrs struct S;));
        let want = "/// Calls `P` (procedure 1).\n\
                    ///\n\
                    /// Sends data;\n\
                    /// see \\<x\\>.\n\
                    ///\n\
                    /// libvirt annotations: `@generate: none`, `@acl: domain:write`.\n\
                    struct S;\n";
        assert_eq!(text, want);
    }

    #[test]
    fn a_doc_block_prints_as_one_line_per_line_at_its_item_indentation() {
        let lines = ["first".to_string(), String::new(), "x  ".to_string()];
        let field = attrs(&lines[..1]);
        let outer = attrs(&lines);
        let mut text = String::new();
        super::super::format_into(&mut text, quote!(#outer pub struct S { #field pub a: u32 }));
        let want = "/// first\n\
                    ///\n\
                    /// x\n\
                    pub struct S {\n    \
                        /// first\n    \
                        pub a: u32,\n\
                    }\n";
        assert_eq!(text, want);
        // Control characters are replaced: the separators would cut a line or start a block,
        // and rustc rejects a doc comment with a bare carriage return. Tabs stay.
        let odd = attrs(&["a\u{1f}b\u{1e}c\rd\te".to_string()]);
        let mut text = String::new();
        super::super::format_into(&mut text, quote!(#odd struct T;));
        assert_eq!(text, "/// a\u{fffd}b\u{fffd}c\u{fffd}d\te\nstruct T;\n");
    }

    #[test]
    fn laid_out_comments_keep_their_layout_in_a_text_block() {
        let lines = comment_lines(&[
            "Wire format".into(),
            String::new(),
            "- type == CALL".into(),
            "  * serial set by client".into(),
        ]);
        assert_eq!(
            lines,
            [
                "Wire format",
                "",
                "```text",
                "- type == CALL",
                "  * serial set by client",
                "```"
            ]
        );
    }
}
