//! The library's error type.

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;
use crate::source::SourceMap;

/// Why generation failed.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `.x` input has errors; `rendered` holds every diagnostic, ready to print.
    #[error("{rendered}")]
    Invalid {
        /// The diagnostics (errors and warnings).
        diagnostics: Vec<Diagnostic>,
        /// The diagnostics rendered with their source lines.
        rendered: String,
    },
    /// An input or output file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration is incomplete or contradictory (e.g. no output directory).
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// An [`Error::Invalid`] from diagnostics, rendered against their sources.
    pub fn invalid(diagnostics: Vec<Diagnostic>, sources: &SourceMap) -> Self {
        let rendered = crate::diagnostic::render_all(&diagnostics, sources);
        Error::Invalid {
            diagnostics,
            rendered,
        }
    }
}

/// Shows the rendered message: `build.rs` scripts that return `Result<(), Box<dyn Error>>` print
/// errors with `Debug`, and the diagnostics with their source lines are what the user needs there.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
