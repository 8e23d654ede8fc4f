//! xdrgen: Rust types and XDR codecs from ONC-RPC / XDR `.x` interface files (client stubs and
//! server traits for their programs are next on the roadmap).
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
pub use error::Error;

use diagnostic::Diagnostics;
use source::SourceMap;

/// Parses and checks a set of `.x` files as one unit: the front end.
///
/// Returns the model and any warnings, or every error found (with the sources to render them).
pub fn load(
    files: &[std::path::PathBuf],
    options: &check::Options,
) -> Result<(model::Model, Diagnostics, SourceMap), (Diagnostics, SourceMap)> {
    let mut sources = SourceMap::new();
    let mut diagnostics = Diagnostics::new();
    let parsed = parse::parse_files(files, &mut sources, &mut diagnostics);
    if diagnostics.has_errors() {
        return Err((diagnostics, sources));
    }
    match check::check(&parsed, options, &sources, &mut diagnostics) {
        Some(model) if !diagnostics.has_errors() => Ok((model, diagnostics, sources)),
        _ => Err((diagnostics, sources)),
    }
}
