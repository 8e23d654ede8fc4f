//! The `xdrgen` binary on real inputs: every libvirt file set, every `/usr/include/rpcsvc/*.x`,
//! and broken fixtures. Expected counts were taken independently with `grep` over the files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the binary in the crate directory.
fn xdrgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run xdrgen")
}

/// stdout and stderr as text.
fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// libvirt's protocol directory: `$XDRGEN_LIBVIRT_DIR` or the workspace's shared copy.
fn libvirt_dir() -> PathBuf {
    std::env::var_os("XDRGEN_LIBVIRT_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocols/libvirt"),
        PathBuf::from,
    )
}

/// The `.x` files of a directory, sorted.
fn x_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "x"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

/// `check --libvirt FILES...` must succeed with exactly this summary.
fn check_libvirt(files: &[String], expected: &str) {
    let mut args = vec!["check", "--libvirt"];
    args.extend(files.iter().map(String::as_str));
    let out = xdrgen(&args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), expected, "{stderr}");
}

#[test]
fn libvirt_11_3_0_checks_as_one_unit() {
    check_libvirt(
        &x_files(&libvirt_dir()),
        "ok: 9 files, 114 constants, 811 types (771 structs, 13 enums, 2 unions, 25 typedefs), \
         8 programs, 497 procedures",
    );
}

#[test]
fn libvirt_9_0_0_checks_as_one_unit() {
    check_libvirt(
        &x_files(&libvirt_dir().join("v9.0.0")),
        "ok: 9 files, 114 constants, 798 types (758 structs, 13 enums, 2 unions, 25 typedefs), \
         8 programs, 486 procedures",
    );
}

#[test]
fn remote_protocol_alone_has_its_procedures() {
    for (dir, procedures) in [(libvirt_dir(), 453), (libvirt_dir().join("v9.0.0"), 443)] {
        let file = dir.join("remote_protocol.x").display().to_string();
        let out = xdrgen(&["check", "--libvirt", &file]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stdout
                .trim_end()
                .ends_with(&format!("1 programs, {procedures} procedures")),
            "{stdout}"
        );
    }
}

#[test]
fn without_the_preset_libvirt_constants_are_named() {
    let file = libvirt_dir()
        .join("remote_protocol.x")
        .display()
        .to_string();
    let out = xdrgen(&["check", &file]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("error: undefined constant `VIR_UUID_BUFLEN`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--constant VIR_UUID_BUFLEN=VALUE"),
        "{stderr}"
    );
}

#[test]
fn every_rpcsvc_file_checks_alone() {
    // What each file truly leaves to C (found by reading them): constants of C headers or of
    // `%#define` lines, and types defined by other files' generated C headers.
    let extra: &[(&str, &[&str])] = &[
        // MAXNETNAMELEN: libtirpc's rpc/auth.h.
        ("key_prot.x", &["--constant", "MAXNETNAMELEN=255"]),
        // Both `%#define`d in the file itself, for C only.
        (
            "nlm_prot.x",
            &[
                "--constant",
                "LM_MAXSTRLEN=1024",
                "--constant",
                "MAXNAMELEN=1025",
            ],
        ),
        // Defined in nis.x / nis_object.x, reached through `%#include <rpcsvc/nis.h>`.
        (
            "nis_callback.x",
            &[
                "--extern-type",
                "nis_object=crate::NisObject",
                "--extern-type",
                "nis_error=crate::NisError",
            ],
        ),
    ];
    let files = x_files(Path::new("/usr/include/rpcsvc"));
    assert!(files.len() >= 17, "{files:?}");
    for file in &files {
        let name = Path::new(file).file_name().unwrap().to_string_lossy();
        let mut args = vec!["check"];
        if let Some((_, flags)) = extra.iter().find(|(n, _)| *n == name) {
            args.extend_from_slice(flags);
        }
        args.push(file);
        let out = xdrgen(&args);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{file}: {stderr}");
        assert!(stdout.starts_with("ok: "), "{file}: {stdout}");
    }
}

#[test]
fn nis_includes_nis_object() {
    let out = xdrgen(&["check", "/usr/include/rpcsvc/nis.x"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("ok: 2 files,"), "{stdout}");
}

#[test]
fn broken_input_exits_1_with_located_errors() {
    let out = xdrgen(&["check", "tests/fixtures/broken/many_errors.x"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("tests/fixtures/broken/many_errors.x:2:5: error:"),
        "{stderr}"
    );
    assert!(stderr.trim_end().ends_with("error: 5 errors"), "{stderr}");
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        &["check", "--constant", "NOVALUE", "a.x"][..],
        &["check", "--constant", "A=zz", "a.x"],
        &["check", "--extern-type", "A", "a.x"],
        &["frobnicate"],
    ] {
        assert_eq!(xdrgen(args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn a_missing_default_directory_is_one_clear_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .arg("check")
        .env("XDRGEN_LIBVIRT_DIR", "/nonexistent/libvirt")
        .output()
        .expect("run xdrgen");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("XDRGEN_LIBVIRT_DIR"), "{stderr}");
    assert!(stderr.contains("/nonexistent/libvirt"), "{stderr}");
}

#[test]
fn default_input_is_libvirt_with_its_preset() {
    let out = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .arg("check")
        .env("XDRGEN_LIBVIRT_DIR", libvirt_dir())
        .output()
        .expect("run xdrgen");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.ends_with("8 programs, 497 procedures\n"), "{stdout}");
}

#[test]
fn dump_lists_resolved_sizes_and_procedures() {
    let out = xdrgen(&[
        "dump",
        "--constant",
        "UUID_LEN=0x10",
        "tests/fixtures/cli/demo.x",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for line in [
        "user const UUID_LEN = 16 (UUID_LEN)",
        "module demo (tests/fixtures/cli/demo.x)",
        "  const DEMO_NAME_MAX = 64 (DEMO_NAME_MAX)",
        "  struct demo_node (DemoNode) recursive",
        "    name: string<64 DEMO_NAME_MAX> (name)",
        "    id: opaque[16 UUID_LEN] (id)",
        "    next: *demo::demo_node boxed (next)",
        "  union demo_value (DemoValue) switch (demo::demo_kind kind)",
        "    case DEMO_KIND_PLAIN = 0 (Plain): plain: int",
        "    case DEMO_KIND_FANCY = 1 (Fancy): void",
        "  program DEMO_PROG (Demo) = 0x20000099 [onc-rpc]",
        "      1 DEMOPROC_LOOKUP demoproc_lookup/Lookup (demo::demo_node) -> demo::demo_value",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line:?} in\n{stdout}"
        );
    }
}

#[test]
fn generate_writes_what_the_build_rs_api_writes() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-generate");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    // -o creates missing directories, as the README's `-o target/libvirt.rs` needs on a fresh
    // checkout whose target dir lives elsewhere.
    let cli_out = out.join("new/dir/cli.rs");
    let run = xdrgen(&[
        "generate",
        "--constant",
        "UUID_LEN=16",
        "tests/fixtures/cli/demo.x",
        "-o",
        cli_out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{:?}", text(&run));
    let library = xdrgen::Config::new()
        .file("tests/fixtures/cli/demo.x")
        .constant("UUID_LEN", 16)
        .cargo_messages(false)
        .generate();
    // The library resolves the path from the test's working directory, the crate dir too.
    assert_eq!(std::fs::read_to_string(&cli_out).unwrap(), library.unwrap());

    // Without -o the same text goes to stdout.
    let run = xdrgen(&[
        "generate",
        "--constant",
        "UUID_LEN=16",
        "tests/fixtures/cli/demo.x",
    ]);
    assert_eq!(text(&run).0, std::fs::read_to_string(&cli_out).unwrap());
}

#[test]
fn generate_flags_choose_clients_and_procedure_tables() {
    // The default input, libvirt's files: `--client` adds one client per libvirt program.
    let run = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .args(["generate", "--client"])
        .env("XDRGEN_LIBVIRT_DIR", libvirt_dir())
        .output()
        .expect("run xdrgen");
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stderr}");
    for item in [
        "pub static REMOTE_PROGRAM_INFO: ::xdrgen_runtime::codegen::ProgramInfo",
        "pub struct RemoteClient {",
        "pub enum RemoteEvent {",
        "pub async fn domain_get_info(",
        "pub struct QemuClient {",
    ] {
        assert!(stdout.contains(item), "missing {item:?}");
    }

    let demo = ["--constant", "UUID_LEN=16", "tests/fixtures/cli/demo.x"];
    let with_tables = text(&xdrgen(&[&["generate"][..], &demo].concat())).0;
    assert!(
        with_tables.contains("pub static DEMO_PROG_DEMO_VERS_INFO:"),
        "{with_tables}"
    );
    assert!(!with_tables.contains("Client"), "{with_tables}");
    let run = xdrgen(&[&["generate", "--no-procedure-tables"][..], &demo].concat());
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stderr}");
    assert!(stdout.contains("pub struct DemoNode {") && !stdout.contains("ProgramInfo"));
}

#[test]
fn byte_string_flags_choose_xdr_bytes() {
    let demo = ["--constant", "UUID_LEN=16", "tests/fixtures/cli/demo.x"];
    let field = |stdout: &str| -> String {
        let at = stdout.find("pub name:").expect("demo_node.name");
        stdout[at..at + stdout[at..].find(',').unwrap()]
            .split_whitespace()
            .collect()
    };
    let plain = text(&xdrgen(&[&["generate"][..], &demo].concat())).0;
    assert_eq!(
        field(&plain),
        "pubname:::xdrgen_runtime::codegen::XdrString<DEMO_NAME_MAX>"
    );
    for flags in [
        &["--byte-strings"][..],
        &["--byte-strings-for", "demo_node"],
        &[
            "--byte-strings-for",
            "demo.x",
            "--byte-strings-for",
            "demo_kind",
        ],
    ] {
        let run = xdrgen(&[&["generate"][..], flags, &demo].concat());
        let (stdout, stderr) = text(&run);
        assert!(run.status.success(), "{flags:?}: {stderr}");
        assert_eq!(
            field(&stdout),
            "pubname:::xdrgen_runtime::codegen::XdrBytes<DEMO_NAME_MAX>",
            "{flags:?}"
        );
    }
    let run = xdrgen(&[&["generate", "--byte-strings-for", "demo_nod"][..], &demo].concat());
    assert!(!run.status.success());
    assert!(text(&run).1.contains("`demo_nod`"), "{}", text(&run).1);
}

#[test]
fn open_enum_flags_add_an_unknown_variant() {
    let demo = ["--constant", "UUID_LEN=16", "tests/fixtures/cli/demo.x"];
    let plain = text(&xdrgen(&[&["generate"][..], &demo].concat())).0;
    assert!(!plain.contains("Unknown(i32)"), "closed by default");
    for flags in [&["--open-enums"][..], &["--open-enum", "demo_kind"]] {
        let run = xdrgen(&[&["generate"][..], flags, &demo].concat());
        let (stdout, stderr) = text(&run);
        assert!(run.status.success(), "{flags:?}: {stderr}");
        assert_eq!(stdout.matches("Unknown(i32),").count(), 1, "{flags:?}");
        assert!(stdout.contains("impl ::core::convert::From<i32> for DemoKind"));
    }
    let run = xdrgen(&[&["generate", "--open-enum", "demo_node"][..], &demo].concat());
    assert!(!run.status.success());
    assert!(
        text(&run).1.contains("no enum of that name"),
        "{}",
        text(&run).1
    );
}

#[test]
fn generate_reports_warnings_on_stderr() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-generate-warnings");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("alias.x");
    std::fs::write(&file, "enum e { A = 1, B = 1 };\n").unwrap();
    let run = xdrgen(&["generate", file.to_str().unwrap()]);
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stderr}");
    assert!(stdout.contains("pub const B: Self = Self::A;"), "{stdout}");
    assert!(
        stderr.contains("alias.x:1:17: warning: enum member `B` has the value 1 of `A`"),
        "{stderr}"
    );
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    use std::io::Read;
    // libvirt's listing is far larger than a pipe's buffer, so the writer meets the closed pipe.
    let mut child = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .arg("dump")
        .env("XDRGEN_LIBVIRT_DIR", libvirt_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run xdrgen");
    let mut head = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(&head, b"user const VIR_S");
}
