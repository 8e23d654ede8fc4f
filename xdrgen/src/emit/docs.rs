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

fn attrs(lines: &[String]) -> TokenStream {
    let attrs = lines.iter().map(|line| {
        // rustdoc strips one leading space, as after `///`.
        let text = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote!(#[doc = #text])
    });
    quote!(#(#attrs)*)
}

/// The comment's lines, trimmed and escaped, without leading, trailing or doubled blank lines.
fn comment_lines(comment: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in comment {
        let line = escape_markdown(line.trim());
        if line.is_empty() && out.last().is_none_or(String::is_empty) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
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

/// `text` in a fenced `text` block whose fence is longer than any backtick run inside, so no
/// line of the definition can close it early.
fn fenced(text: &str) -> Vec<String> {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut lines = vec![format!("{fence}text")];
    lines.extend(text.lines().map(|l| l.trim_end().to_string()));
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
    fn fence_outgrows_backticks_inside() {
        let lines = fenced("struct a {\n  ```` int x;\n};");
        assert_eq!(lines.first().map(String::as_str), Some("`````text"));
        assert_eq!(lines.last().map(String::as_str), Some("`````"));
    }

    #[test]
    fn indented_comment_lines_are_trimmed() {
        let lines = comment_lines(&[
            String::new(),
            "Sum of:".into(),
            "        a + b".into(),
            String::new(),
            String::new(),
            "end".into(),
            String::new(),
        ]);
        assert_eq!(lines, ["Sum of:", "a + b", "", "end"]);
    }
}
