//! Diagnostics: an error or warning with a span, rendered as
//!
//! ```text
//! path:line:col: error: message
//!    |
//! 12 |     int x
//!    |          ^
//! ```
//!
//! The first line follows the `path:line:col:` convention of compilers so that editors can jump to
//! it. The renderers of crates such as codespan-reporting or annotate-snippets put the location on
//! a second line, so this small one is written here.

use std::fmt::Write;

use crate::source::{SourceMap, Span};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something suspicious that does not stop generation.
    Warning,
    /// Something that stops generation.
    Error,
}

/// One message about the input, with where it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one line.
    pub message: String,
    /// Where; `None` for problems with no place in a file (a missing input file).
    pub span: Option<Span>,
    /// Further lines, e.g. `note: first defined at a.x:3:7`.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error at a span.
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: Some(span),
            notes: vec![],
        }
    }

    /// A warning at a span.
    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            message: message.into(),
            span: Some(span),
            notes: vec![],
        }
    }

    /// An error with no place in a file.
    pub fn global(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: None,
            notes: vec![],
        }
    }

    /// Adds a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic with its source line and a caret line under the span.
    pub fn render(&self, sources: &SourceMap) -> String {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = String::new();
        let Some(span) = self.span else {
            let _ = writeln!(out, "{level}: {}", self.message);
            for note in &self.notes {
                let _ = writeln!(out, "  = note: {note}");
            }
            return out;
        };
        let file = sources.file(span.file);
        let (line, col) = file.line_col(span.start as usize);
        let _ = writeln!(out, "{}: {level}: {}", sources.location(span), self.message);
        let text = file.line_text(line).replace('\t', " ");
        let (end_line, end_col) = file.line_col(span.end as usize);
        let width = if end_line == line {
            end_col.saturating_sub(col).max(1)
        } else {
            1
        };
        let width = width.min(text.chars().count().saturating_sub(col - 1).max(1));
        let gutter = line.to_string().len();
        let _ = writeln!(out, "{:gutter$} |", "");
        let _ = writeln!(out, "{line} | {text}");
        let _ = writeln!(
            out,
            "{:gutter$} | {}{}",
            "",
            " ".repeat(col - 1),
            "^".repeat(width)
        );
        for note in &self.notes {
            let _ = writeln!(out, "{:gutter$} = note: {note}", "");
        }
        out
    }
}

/// Diagnostics collected over one pass.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// True when any error (not warning) was pushed.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// All of them, in the order pushed.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Moves them out.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    /// Renders all, sorted by position, separated by blank lines.
    pub fn render(&self, sources: &SourceMap) -> String {
        render_all(&self.items, sources)
    }
}

/// Renders diagnostics sorted by position (file order, then offset), separated by blank lines.
pub fn render_all(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| d.span);
    sorted
        .iter()
        .map(|d| d.render(sources))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.items.extend(iter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_source_line_and_caret() {
        let mut map = SourceMap::new();
        let id = map.add("t.x", "struct a {\n    int x\n};\n".to_string());
        let d = Diagnostic::error(Span::new(id, 20, 21), "expected `;`");
        assert_eq!(
            d.render(&map),
            "t.x:2:10: error: expected `;`\n  |\n2 |     int x\n  |          ^\n"
        );
    }
}
