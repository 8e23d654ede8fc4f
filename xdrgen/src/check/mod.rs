//! Semantic checks: the AST of a unit → the [`crate::model::Model`], with every error collected.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostics;
use crate::model::Model;
use crate::parse::ParsedFile;
use crate::source::SourceMap;

/// What the checker needs besides the files.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Constants defined outside the `.x` files (`--constant NAME=VALUE`).
    pub constants: BTreeMap<String, i128>,
    /// Types defined outside the `.x` files: `.x` name → Rust path.
    pub extern_types: BTreeMap<String, String>,
}

/// Checks a parsed unit. Returns the model when there are no errors; every error found goes to
/// `diagnostics`.
pub fn check(
    _files: &[ParsedFile],
    _options: &Options,
    _sources: &SourceMap,
    _diagnostics: &mut Diagnostics,
) -> Option<Model> {
    todo!("checker")
}
