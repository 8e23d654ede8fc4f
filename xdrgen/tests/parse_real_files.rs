//! Every real `.x` file we know of parses without errors: libvirt 11.3.0 and 9.0.0, and the
//! rpcsvc files of the system (when installed).

use std::path::{Path, PathBuf};

use xdrgen::ast::{DefinitionKind, Item, Value};
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
    assert!(
        files.len() >= 9,
        "expected libvirt's 9 .x files, found {}",
        files.len()
    );
    parse_all_clean(&files);
}

#[test]
fn libvirt_9_0_0_files_parse() {
    let files = x_files(&libvirt_dir().join("v9.0.0"));
    assert!(
        files.len() >= 9,
        "expected libvirt's 9 .x files, found {}",
        files.len()
    );
    parse_all_clean(&files);
}

#[test]
fn rpcsvc_files_parse() {
    // libtirpc-dev / rpcsvc-proto install them here; XDRGEN_RPCSVC_DIR points elsewhere.
    let dir = std::env::var_os("XDRGEN_RPCSVC_DIR")
        .map_or_else(|| PathBuf::from("/usr/include/rpcsvc"), PathBuf::from);
    let dir = dir.as_path();
    if !dir.is_dir() {
        eprintln!("note: {} is absent; rpcsvc files not tested", dir.display());
        return;
    }
    let parsed = parse_all_clean(&x_files(dir));
    // nis.x has `#include "nis_object.x"`: both files come back, the included one first.
    let (_, nis, sources) = parsed
        .iter()
        .find(|(path, _, _)| path.ends_with("nis.x"))
        .expect("nis.x");
    let names: Vec<_> = nis
        .iter()
        .map(|f| sources.file(f.id).path.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["nis_object.x", "nis.x"]);
}

/// Counts of top-level definitions by kind, and of `%` lines.
fn census(file: &ParsedFile) -> [usize; 7] {
    let mut c = [0; 7];
    for item in &file.ast.items {
        let slot = match item {
            Item::PassThrough { .. } => 6,
            Item::Definition(d) => match d.kind {
                DefinitionKind::Const { .. } | DefinitionKind::StringConst { .. } => 0,
                // A `%#define` constant is also one of the `%` lines: counted there.
                DefinitionKind::PassConst { .. } => continue,
                DefinitionKind::Struct { .. } => 1,
                DefinitionKind::Union { .. } => 2,
                DefinitionKind::Enum { .. } => 3,
                DefinitionKind::Typedef(_) => 4,
                DefinitionKind::Program(_) => 5,
            },
        };
        c[slot] += 1;
    }
    c
}

/// The 11.3.0 files, counted with `grep -c '^const'` etc. (every definition of these files
/// starts in column 0): [const, struct, union, enum, typedef, program, %-lines].
#[test]
fn libvirt_current_definition_counts() {
    let expected: [(&str, [usize; 7]); 9] = [
        ("admin_protocol.x", [8, 31, 1, 1, 2, 0, 2]),
        ("lock_protocol.x", [3, 9, 0, 1, 3, 0, 2]),
        ("log_protocol.x", [3, 10, 0, 2, 3, 0, 2]),
        ("lxc_monitor_protocol.x", [2, 2, 0, 2, 0, 0, 1]),
        ("lxc_protocol.x", [2, 1, 0, 1, 0, 0, 2]),
        ("qemu_protocol.x", [2, 12, 0, 1, 0, 0, 2]),
        ("remote_protocol.x", [72, 701, 1, 2, 12, 0, 4]),
        ("virkeepaliveprotocol.x", [2, 0, 0, 1, 0, 0, 0]),
        ("virnetprotocol.x", [9, 5, 0, 2, 5, 0, 3]),
    ];
    let dir = libvirt_dir();
    for (name, counts) in expected {
        let parsed = parse_all_clean(&[dir.join(name)]);
        let (_, files, _) = &parsed[0];
        assert_eq!(census(&files[0]), counts, "{name}");
    }
}

fn remote_procedure(file: &ParsedFile) -> &xdrgen::ast::EnumBody {
    definitions(file)
        .find_map(|d| match &d.kind {
            DefinitionKind::Enum { name, body } if name.name == "remote_procedure" => Some(body),
            _ => None,
        })
        .expect("enum remote_procedure")
}

/// Every procedure of `enum remote_procedure` carries its own `/** @generate: ... */` block;
/// the long explanatory comment at the top of the enum body (separated by a blank line) is
/// attached to nothing.
fn check_remote_procedures(file: &ParsedFile, count: usize, acl_lines: usize) {
    let body = remote_procedure(file);
    assert_eq!(body.members.len(), count);
    let mut acls = 0;
    for (i, member) in body.members.iter().enumerate() {
        let number = i as i128 + 1;
        assert!(
            matches!(member.value, Some(Value::Literal { value, .. }) if value == number),
            "{} should be {number}",
            member.name.name
        );
        assert!(member.name.name.starts_with("REMOTE_PROC_"));
        let generate: Vec<_> = member
            .doc
            .annotations
            .iter()
            .filter(|a| a.key == "generate")
            .collect();
        assert_eq!(generate.len(), 1, "{}: {:?}", member.name.name, member.doc);
        assert!(
            ["none", "client", "server", "both"].contains(&generate[0].value.as_str()),
            "{}: {}",
            member.name.name,
            generate[0].value
        );
        acls += member
            .doc
            .annotations
            .iter()
            .filter(|a| a.key == "acl")
            .count();
        // Only annotation lines: no text of the enum's opening comment leaked in.
        assert_eq!(
            member.doc.lines.len(),
            member.doc.annotations.len(),
            "{}",
            member.name.name
        );
    }
    assert_eq!(acls, acl_lines);
    let first = &body.members[0].doc;
    let keys: Vec<_> = first.annotations.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["generate", "priority", "acl"]);
}

#[test]
fn remote_procedures_and_annotations_11_3_0() {
    let parsed = parse_all_clean(&[libvirt_dir().join("remote_protocol.x")]);
    // 453 procedures; 554 `@acl:` lines (`grep -c '^\s*\* @acl:'`).
    check_remote_procedures(&parsed[0].1[0], 453, 554);
}

#[test]
fn remote_procedures_and_annotations_9_0_0() {
    let parsed = parse_all_clean(&[libvirt_dir().join("v9.0.0/remote_protocol.x")]);
    let acl_lines = std::fs::read_to_string(libvirt_dir().join("v9.0.0/remote_protocol.x"))
        .unwrap()
        .lines()
        .filter(|l| l.trim_start().starts_with("* @acl:"))
        .count();
    check_remote_procedures(&parsed[0].1[0], 443, acl_lines);
}

#[test]
fn comment_after_opening_brace_belongs_to_the_struct() {
    let parsed = parse_all_clean(&[libvirt_dir().join("remote_protocol.x")]);
    let file = &parsed[0].1[0];
    let d = definitions(file)
        .find(|d| matches!(&d.kind, DefinitionKind::Struct { name, .. } if name.name == "remote_node_get_info_ret"))
        .expect("remote_node_get_info_ret");
    assert_eq!(d.doc.lines, ["insert@1"]);
    let DefinitionKind::Struct { body, .. } = &d.kind else {
        unreachable!()
    };
    assert!(body.fields[0].doc.is_empty(), "{:?}", body.fields[0].doc);
}
