//! xdrgen: Rust types and XDR codecs from ONC-RPC / XDR `.x` interface files, with procedure
//! tables for their programs, and async clients and server traits speaking libvirt's protocol or
//! standard ONC RPC ([`Config::build_client`], [`Config::build_server`]).
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! .x files ─► parse ─► ast ─► check ─► model ─► emit ─► write
//! ```
//!
//! Most users call it from `build.rs` through [`Config`]:
//!
//! ```no_run
//! xdrgen::Config::new()
//!     .file("proto/demo.x")
//!     .constant("VIR_UUID_BUFLEN", 16)
//!     .compile()
//!     .unwrap();
//! ```

pub mod ast;
pub mod check;
mod config;
pub mod diagnostic;
pub mod emit;
mod error;
pub mod model;
pub mod naming;
pub mod parse;
pub mod presets;
pub mod source;

pub use config::Config;
pub use emit::StringMode;
pub use error::Error;

use diagnostic::Diagnostics;
use source::SourceMap;

/// A checked unit: what [`load`] returns when the files have no errors.
#[derive(Debug)]
pub struct Loaded {
    /// The model every emitter reads.
    pub model: model::Model,
    /// Warnings found on the way (render them with [`Diagnostics::render`] and `sources`).
    pub warnings: Diagnostics,
    /// Every file read, for rendering diagnostics.
    pub sources: SourceMap,
}

/// Why [`load`] failed: every error (and warning) found, with the files to render them.
#[derive(Debug)]
pub struct LoadError {
    /// The diagnostics.
    pub diagnostics: Diagnostics,
    /// Every file read, for rendering diagnostics.
    pub sources: SourceMap,
}

impl LoadError {
    /// The diagnostics as text: `path:line:col: error: ...`, the source line and a caret.
    pub fn render(&self) -> String {
        self.diagnostics.render(&self.sources)
    }
}

/// Parses and checks a set of `.x` files as one unit: the front end.
///
/// ```
/// let loaded = xdrgen::load(&[], &xdrgen::check::Options::default()).unwrap();
/// assert!(loaded.model.modules.is_empty());
/// ```
pub fn load(files: &[std::path::PathBuf], options: &check::Options) -> Result<Loaded, LoadError> {
    let mut sources = SourceMap::new();
    let mut diagnostics = Diagnostics::new();
    let parsed = parse::parse_files(files, &mut sources, &mut diagnostics);
    if diagnostics.has_errors() {
        return Err(LoadError {
            diagnostics,
            sources,
        });
    }
    match check::check(&parsed, options, &sources, &mut diagnostics) {
        Some(model) if !diagnostics.has_errors() => Ok(Loaded {
            model,
            warnings: diagnostics,
            sources,
        }),
        _ => Err(LoadError {
            diagnostics,
            sources,
        }),
    }
}
