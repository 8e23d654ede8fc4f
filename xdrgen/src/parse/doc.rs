//! Comments → [`Doc`]s: which comment belongs to which node, and what its text and `@key: value`
//! annotations are.
//!
//! Attachment rules (one place, so every node kind behaves alike):
//! - **Leading**: the comments between a node and the token before it, walking back from the
//!   node, as long as no blank line separates a comment from what follows it. So a comment block
//!   directly above a node is its doc, while a comment separated by an empty line (a file's
//!   licence header, the explanatory block at the top of libvirt's `enum remote_procedure`) is
//!   not attached to anything. A `%` line or `#` directive between a comment and a node counts as
//!   a separating line too.
//! - **Trailing**: comments that start on the same line as the end of a node (after its `;`, or
//!   after an enum member's `,`) belong to that node, never to the next one. A comment on the
//!   same line right after a definition's `{` is added to the definition's doc.

use crate::ast::{Annotation, Doc};
use crate::source::{FileId, Span};

use super::preprocess::Comment;

/// Finds and converts the comments of one file.
pub(crate) struct Docs<'a> {
    file: FileId,
    /// The original source (comment text is read from it).
    src: &'a str,
    /// The preprocessed text: comments and directives are spaces in it.
    text: &'a str,
    comments: &'a [Comment],
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0B' | b'\x0C')
}

impl<'a> Docs<'a> {
    /// Docs over a file's source, its preprocessed text and its comments (sorted by position).
    pub(crate) fn new(file: FileId, src: &'a str, text: &'a str, comments: &'a [Comment]) -> Self {
        Docs {
            file,
            src,
            text,
            comments,
        }
    }

    /// The doc of a node that starts at byte `start`.
    pub(crate) fn leading(&self, start: usize) -> Doc {
        let bytes = self.text.as_bytes();
        let start = start.min(bytes.len());
        let mut prev_end = start;
        while prev_end > 0 && is_space(bytes[prev_end - 1]) {
            prev_end -= 1;
        }
        let has_prev_token = prev_end > 0;
        let upto = self.comments.partition_point(|c| c.start < start);
        let mut chosen: Vec<Comment> = Vec::new();
        let mut anchor = start;
        for c in self.comments[..upto].iter().rev() {
            if c.start < prev_end || c.end > anchor {
                break;
            }
            let gap = &self.text[c.end..anchor];
            if gap.matches('\n').count() > 1 {
                break;
            }
            if has_prev_token && !self.text[prev_end..c.start].contains('\n') {
                break; // a trailing comment of the previous token
            }
            chosen.push(*c);
            anchor = c.start;
        }
        chosen.reverse();
        self.doc_of(&chosen)
    }

    /// The comments on the line where a node ends at byte `end` (skipping one `,` or `;`).
    pub(crate) fn trailing(&self, end: usize) -> Doc {
        let bytes = self.text.as_bytes();
        let mut q = end.min(bytes.len());
        let mut punct_skipped = false;
        while q < bytes.len() && bytes[q] != b'\n' {
            match bytes[q] {
                b' ' | b'\t' | b'\r' | b'\x0B' | b'\x0C' => q += 1,
                b',' | b';' if !punct_skipped => {
                    punct_skipped = true;
                    q += 1;
                }
                _ => break,
            }
        }
        let from = self.comments.partition_point(|c| c.start < end);
        let to = self.comments.partition_point(|c| c.start < q);
        self.doc_of(&self.comments[from..to.max(from)])
    }

    fn doc_of(&self, comments: &[Comment]) -> Doc {
        let (Some(first), Some(last)) = (comments.first(), comments.last()) else {
            return Doc::default();
        };
        let mut doc = Doc {
            span: Some(Span::new(self.file, first.start, last.end)),
            ..Doc::default()
        };
        for c in comments {
            for (line_start, line_end) in comment_lines(self.src, *c) {
                let line = &self.src[line_start..line_end];
                if let Some(annotation) =
                    annotation(line, Span::new(self.file, line_start, line_end))
                {
                    doc.annotations.push(annotation);
                }
                doc.lines.push(line.to_string());
            }
        }
        doc
    }
}

/// Appends `more` to `doc` (the `{ /* ... */` case).
pub(crate) fn append(doc: &mut Doc, more: Doc) {
    let Some(more_span) = more.span else {
        return;
    };
    doc.span = Some(doc.span.map_or(more_span, |s| s.to(more_span)));
    doc.lines.extend(more.lines);
    doc.annotations.extend(more.annotations);
}

/// The byte ranges of a comment's text lines, decorations (`/*`, `*/`, the slashes of `//`,
/// leading ` * `) removed, leading and trailing empty lines dropped.
fn comment_lines(src: &str, c: Comment) -> Vec<(usize, usize)> {
    let whole = &src[c.start..c.end];
    let (body_start, body_end) = if whole.starts_with("//") {
        // `///` and `////` are line comments too: every leading slash is decoration.
        let slashes = whole.bytes().take_while(|&b| b == b'/').count();
        (c.start + slashes, c.end)
    } else if whole.len() >= 4 {
        (c.start + 2, c.end - 2)
    } else {
        (c.start + 2, c.start + 2)
    };
    let mut lines = Vec::new();
    let mut at = body_start;
    let body = &src[body_start..body_end];
    let count = body.split('\n').count();
    for (i, raw) in body.split('\n').enumerate() {
        let mut s = at;
        let mut e = at + raw.len();
        at = e + 1;
        let bytes = src.as_bytes();
        while s < e && is_space(bytes[s]) {
            s += 1;
        }
        if s < e && bytes[s] == b'*' {
            while s < e && bytes[s] == b'*' {
                s += 1;
            }
            if s < e && bytes[s] == b' ' {
                s += 1;
            }
        }
        while e > s && is_space(bytes[e - 1]) {
            e -= 1;
        }
        if i + 1 == count {
            while e > s && (bytes[e - 1] == b'*' || is_space(bytes[e - 1])) {
                e -= 1;
            }
        }
        lines.push((s, e));
    }
    while lines
        .first()
        .is_some_and(|(s, e)| src[*s..*e].trim().is_empty())
    {
        lines.remove(0);
    }
    while lines
        .last()
        .is_some_and(|(s, e)| src[*s..*e].trim().is_empty())
    {
        lines.pop();
    }
    lines
}

/// `@key: value` → an annotation (libvirt's `@generate: both`, `@acl: domain:write`, ...).
fn annotation(line: &str, span: Span) -> Option<Annotation> {
    let trimmed = line.trim_start();
    let rest = trimmed.strip_prefix('@')?;
    let key_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        .count();
    if key_len == 0 {
        return None;
    }
    let value = rest[key_len..].trim_start().strip_prefix(':')?;
    let offset = (line.len() - trimmed.len()) as u32;
    Some(Annotation {
        key: rest[..key_len].to_string(),
        value: value.trim().to_string(),
        span: Span {
            start: span.start + offset,
            ..span
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comments_of(src: &str) -> Vec<Comment> {
        // A tiny scanner for tests: `/* */` only.
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(s) = src[i..].find("/*") {
            let start = i + s;
            let end = src[start + 2..]
                .find("*/")
                .map_or(src.len(), |e| start + 2 + e + 2);
            out.push(Comment { start, end });
            i = end;
        }
        out
    }

    fn blanked(src: &str, comments: &[Comment]) -> String {
        let mut b = src.as_bytes().to_vec();
        for c in comments {
            for x in &mut b[c.start..c.end] {
                if *x != b'\n' {
                    *x = b' ';
                }
            }
        }
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn strips_decorations_and_reads_annotations() {
        let src = "/**\n * @generate: both\n * @acl: domain:write:FLAG\n * Plain text.\n */\nX";
        let cs = comments_of(src);
        let text = blanked(src, &cs);
        let docs = Docs::new(FileId(0), src, &text, &cs);
        let doc = docs.leading(src.len() - 1);
        assert_eq!(
            doc.lines,
            ["@generate: both", "@acl: domain:write:FLAG", "Plain text."]
        );
        let keys: Vec<_> = doc
            .annotations
            .iter()
            .map(|a| (a.key.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(keys, [("generate", "both"), ("acl", "domain:write:FLAG")]);
        let a = &doc.annotations[1];
        assert_eq!(
            &src[a.span.start as usize..a.span.end as usize],
            "@acl: domain:write:FLAG"
        );
    }

    #[test]
    fn blank_line_and_trailing_comments_stop_leading_docs() {
        let src = "a; /* trail */\n/* far */\n\n/* one */\n/* two */\nb;";
        let cs = comments_of(src);
        let text = blanked(src, &cs);
        let docs = Docs::new(FileId(0), src, &text, &cs);
        assert_eq!(docs.leading(src.len() - 2).lines, ["one", "two"]);
        assert_eq!(docs.trailing(1).lines, ["trail"]);
        // `a` has no leading doc: nothing before it.
        assert!(docs.leading(0).is_empty());
    }

    #[test]
    fn line_comments_lose_all_their_slashes() {
        let src = "// two\n/// three\n//// four\nb;";
        // Each line but the last is one line comment (the test scanner reads `/* */` only).
        let mut cs = Vec::new();
        let mut start = 0;
        for line in src.split_inclusive('\n').filter(|l| l.starts_with("//")) {
            let end = start + line.trim_end().len();
            cs.push(Comment { start, end });
            start += line.len();
        }
        let text = blanked(src, &cs);
        let docs = Docs::new(FileId(0), src, &text, &cs);
        assert_eq!(docs.leading(src.len() - 2).lines, ["two", "three", "four"]);
    }

    #[test]
    fn a_trailing_comment_is_not_the_next_nodes_doc() {
        let src = "a; /* of a */\nb;";
        let cs = comments_of(src);
        let text = blanked(src, &cs);
        let docs = Docs::new(FileId(0), src, &text, &cs);
        assert!(docs.leading(src.len() - 2).is_empty());
    }
}
