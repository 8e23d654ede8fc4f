//! Every real `.x` file we know of parses without errors: libvirt 11.3.0 and 9.0.0, and the
//! rpcsvc files of the system (when installed).

use std::path::{Path, PathBuf};

use xdrgen::ast::{DefinitionKind, Item};
use xdrgen::diagnostic::Diagnostics;
use xdrgen::parse::{parse_files, ParsedFile};
use xdrgen::source::SourceMap;

fn libvirt_dir() -> PathBuf {
    match std::env::var_os("XDRGEN_LIBVIRT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocols/libvirt"),
    }
}

fn x_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "x"))
        .collect();
    files.sort();
    files
}

/// Parses each file on its own and asserts no errors (warnings are printed).
fn parse_all_clean(files: &[PathBuf]) -> Vec<(PathBuf, Vec<ParsedFile>, SourceMap)> {
    let mut out = Vec::new();
    for file in files {
        let mut sources = SourceMap::new();
        let mut diags = Diagnostics::new();
        let parsed = parse_files(std::slice::from_ref(file), &mut sources, &mut diags);
        let rendered = diags.render(&sources);
        assert!(!diags.has_errors(), "{}:\n{rendered}", file.display());
        if !rendered.is_empty() {
            eprintln!("{}: warnings:\n{rendered}", file.display());
        }
        assert!(!parsed.is_empty(), "{}", file.display());
        out.push((file.clone(), parsed, sources));
    }
    out
}

fn definitions(file: &ParsedFile) -> impl Iterator<Item = &xdrgen::ast::Definition> {
    file.ast.items.iter().filter_map(|i| match i {
        Item::Definition(d) => Some(d),
        Item::PassThrough { .. } => None,
    })
}

#[test]
fn libvirt_current_files_parse() {
    let files = x_files(&libvirt_dir());
    assert!(files.len() >= 9, "expected libvirt's 9 .x files, found {}", files.len());
    parse_all_clean(&files);
}

#[test]
fn libvirt_9_0_0_files_parse() {
    let files = x_files(&libvirt_dir().join("v9.0.0"));
    assert!(files.len() >= 9, "expected libvirt's 9 .x files, found {}", files.len());
    parse_all_clean(&files);
}

#[test]
fn rpcsvc_files_parse() {
    let dir = Path::new("/usr/include/rpcsvc");
    if !dir.is_dir() {
        eprintln!("note: {} is absent; rpcsvc files not tested", dir.display());
        return;
    }
    parse_all_clean(&x_files(dir));
}
