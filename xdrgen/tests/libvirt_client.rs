//! The client generated for libvirt's real `remote_protocol.x` has one method per procedure
//! except the events, and one event variant per event. The expected counts come from scanning
//! the `.x` text itself (procedure enum members and the `_args` / `_ret` / `_msg` structs named
//! after them), not from xdrgen's model.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn libvirt_dir() -> PathBuf {
    xdrgen::presets::libvirt_dir(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocols/libvirt"),
    )
}

/// What the `.x` text says about `REMOTE_PROC_*` procedures.
struct Expected {
    procedures: usize,
    /// Procedures with a `_msg` struct and neither `_args` nor `_ret`: events only.
    events_only: usize,
    /// Procedures with a `_msg` struct.
    with_message: usize,
}

/// Scans the text: enum members are lines starting `REMOTE_PROC_NAME =`; structs are lines
/// starting `struct name`.
fn scan(text: &str) -> Expected {
    let structs: HashSet<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("struct "))
        .filter_map(|rest| rest.split(|c: char| c.is_whitespace() || c == '{').next())
        .collect();
    let members: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("REMOTE_PROC_") && l.contains('='))
        .map(|l| l.split('=').next().unwrap_or("").trim().to_string())
        .collect();
    let has = |member: &str, suffix: &str| {
        let base = member.trim_start_matches("REMOTE_PROC_").to_lowercase();
        structs.contains(format!("remote_{base}_{suffix}").as_str())
    };
    let with_message = members.iter().filter(|m| has(m, "msg")).count();
    let events_only = members
        .iter()
        .filter(|m| has(m, "msg") && !has(m, "args") && !has(m, "ret"))
        .count();
    Expected {
        procedures: members.len(),
        events_only,
        with_message,
    }
}

/// The text from `start` to the first line that is exactly `end` after it.
fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no `{start}` in the output"));
    let len = text[from..].find(end).expect("the section ends");
    &text[from..from + len]
}

#[test]
fn remote_client_has_a_method_per_procedure_but_events() {
    let dir = libvirt_dir();
    let remote = std::fs::read_to_string(dir.join("remote_protocol.x"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let expected = scan(&remote);
    assert!(
        expected.procedures > 400,
        "scan found {} procedures",
        expected.procedures
    );
    assert!(
        expected.events_only > 30,
        "scan found {} events",
        expected.events_only
    );

    let files: Vec<PathBuf> = xdrgen::presets::LIBVIRT_FILES
        .iter()
        .map(|f| dir.join(f))
        .collect();
    let text = xdrgen::Config::new()
        .files(&files)
        .constants(&xdrgen::presets::libvirt_constants())
        .build_client(true)
        .cargo_messages(false)
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));

    let client = section(&text, "\n    impl RemoteClient {\n", "\n    }\n");
    let methods = client.matches("\n        pub async fn ").count();
    assert_eq!(
        methods,
        expected.procedures - expected.events_only,
        "{} procedures, {} of them events only",
        expected.procedures,
        expected.events_only
    );
    assert!(
        !text.contains("Procedures without a method"),
        "every libvirt procedure should get its method"
    );

    let events = section(&text, "\n    pub enum RemoteEvent {\n", "\n    }\n");
    let variants = events
        .lines()
        .filter(|l| l.starts_with("        ") && !l.trim_start().starts_with("///"))
        .filter(|l| l.trim_end().ends_with("),"))
        .count();
    assert_eq!(variants, expected.with_message);

    // The table lists every procedure.
    let table = section(&text, "pub static REMOTE_PROGRAM_INFO:", "\n    };\n");
    assert_eq!(
        table.matches("ProcedureInfo::new(").count(),
        expected.procedures
    );
}
