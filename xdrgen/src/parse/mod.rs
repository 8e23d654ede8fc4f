//! `.x` text → [`crate::ast`]: a C-preprocessor pass, then a pest grammar.

use std::path::PathBuf;

use crate::ast;
use crate::diagnostic::Diagnostics;
use crate::source::{FileId, SourceMap};

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
pub fn parse_files(
    _paths: &[PathBuf],
    _sources: &mut SourceMap,
    _diagnostics: &mut Diagnostics,
) -> Vec<ParsedFile> {
    todo!("parser")
}
