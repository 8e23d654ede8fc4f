//! Builds the C peer: `rpcgen` + libtirpc codecs for a set of `.x` files, linked into a small
//! echo driver (see [`crate::c_peer`] for the protocol it speaks).
//!
//! Everything is written under a caller-chosen work directory inside cargo's target dir, never
//! the source tree. A build is skipped when a stamp of its inputs matches the previous one, so a
//! test run pays for `gcc` once.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the C peer could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// `rpcgen`, `gcc` or libtirpc's headers are missing: the test may be skipped outside CI.
    ToolsMissing(String),
    /// A tool ran and failed (or an I/O error happened): always a test failure.
    Failed(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::ToolsMissing(m) => write!(f, "C toolchain missing: {m}"),
            BuildError::Failed(m) => write!(f, "building the C peer failed: {m}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Where libtirpc's headers live on Debian (its `rpc/rpc.h` replaces glibc's removed one).
const TIRPC_INCLUDE: &str = "/usr/include/tirpc";

/// Checks that `rpcgen`, `gcc` and libtirpc's headers are present.
pub fn check_tools() -> Result<(), BuildError> {
    for tool in ["rpcgen", "gcc"] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Err(BuildError::ToolsMissing(format!(
                "`{tool}` is not installed (Debian: apt-get install rpcsvc-proto libtirpc-dev gcc)"
            )));
        }
    }
    if !Path::new(TIRPC_INCLUDE).join("rpc/rpc.h").is_file() {
        return Err(BuildError::ToolsMissing(format!(
            "libtirpc headers not found in {TIRPC_INCLUDE} (Debian: apt-get install libtirpc-dev)"
        )));
    }
    Ok(())
}

/// Decides what a missing toolchain means: with `CI` set it is a failure (CI installs the
/// tools); otherwise the caller skips, after this prints a note. Returns true to go on.
pub fn tools_or_skip(test: &str) -> bool {
    match check_tools() {
        Ok(()) => true,
        Err(e) if std::env::var_os("CI").is_some() => panic!("{test}: {e} (CI must install it)"),
        Err(e) => {
            eprintln!("note: {test} skipped: {e}");
            false
        }
    }
}

/// C headers that libvirt's `.x` files `%#include` but that only exist in libvirt's source tree.
/// Ours define just what the generated C needs. The values are libvirt's public ones
/// (`include/libvirt/libvirt-*.h`), written here independently of xdrgen's preset so the two
/// sides check each other.
const STUB_HEADERS: &[(&str, &str)] = &[
    (
        "libvirt/libvirt.h",
        "#ifndef XDRGEN_STUB_LIBVIRT_H\n#define XDRGEN_STUB_LIBVIRT_H\n\
         #define VIR_UUID_BUFLEN 16\n\
         #define VIR_TYPED_PARAM_INT 1\n#define VIR_TYPED_PARAM_UINT 2\n\
         #define VIR_TYPED_PARAM_LLONG 3\n#define VIR_TYPED_PARAM_ULLONG 4\n\
         #define VIR_TYPED_PARAM_DOUBLE 5\n#define VIR_TYPED_PARAM_BOOLEAN 6\n\
         #define VIR_TYPED_PARAM_STRING 7\n\
         #define VIR_SECURITY_MODEL_BUFLEN 257\n#define VIR_SECURITY_LABEL_BUFLEN 4097\n\
         #define VIR_SECURITY_DOI_BUFLEN 257\n#endif\n",
    ),
    ("libvirt/libvirt-admin.h", "#include <libvirt/libvirt.h>\n"),
    ("internal.h", "#include <libvirt/libvirt.h>\n"),
    ("virxdrdefs.h", "/* xdrgen test stub: nothing needed */\n"),
    ("virsocket.h", "/* xdrgen test stub: nothing needed */\n"),
    (
        "lock_driver_lockd.h",
        "/* xdrgen test stub: nothing needed */\n",
    ),
];

/// The word I/O both drivers share, placed before a driver's body.
const DRIVER_IO: &str = include_str!("driver_io.c");

/// The echo driver's fixed part; the type table and `#include`s are generated around it.
const DRIVER_BODY: &str = include_str!("driver_body.c");

/// The benchmark driver's fixed part (see [`crate::c_bench`]), used like [`DRIVER_BODY`].
const BENCH_BODY: &str = include_str!("bench_body.c");

/// gcc's optimisation level for the echo driver: it only checks bytes, so it builds fast.
const PEER_OPT: &str = "-O1";

/// gcc's optimisation level for the benchmark driver and the rpcgen code it times.
const BENCH_OPT: &str = "-O2";

/// What to build: `.x` files and the XDR type names the driver's table lists (index = position).
#[derive(Debug, Clone)]
pub struct PeerSpec {
    /// The `.x` files, compiled separately by `rpcgen -N -c` and linked together (`-N`: procedures
    /// may take several arguments, as in `onc_demo.x`; it changes no codec).
    pub x_files: Vec<PathBuf>,
    /// Type names, each with an `xdr_<name>` routine in one of the files.
    pub types: Vec<String>,
}

/// Builds (or reuses) the driver executable for `spec` under `work_dir`; returns its path.
/// Concurrent tests of one binary share a work dir, so builds take turns; the second finds the
/// stamp written by the first. (Different test binaries use different work dirs.)
pub fn build_peer(work_dir: &Path, spec: &PeerSpec) -> Result<PathBuf, BuildError> {
    build_driver(work_dir, spec, DRIVER_BODY, PEER_OPT)
}

/// Builds (or reuses) the benchmark driver of [`crate::c_bench`] for `spec` under `work_dir`,
/// with rpcgen's routines and the driver compiled at `-O2`; returns its path.
pub fn build_bench_peer(work_dir: &Path, spec: &PeerSpec) -> Result<PathBuf, BuildError> {
    build_driver(work_dir, spec, BENCH_BODY, BENCH_OPT)
}

/// Builds (or reuses) a driver: the generated table followed by `body`, linked with rpcgen's
/// routines for `spec`, every file compiled at gcc optimisation level `opt`.
fn build_driver(
    work_dir: &Path,
    spec: &PeerSpec,
    body: &str,
    opt: &'static str,
) -> Result<PathBuf, BuildError> {
    static BUILD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = BUILD_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    check_tools()?;
    let fail = |what: &str, e: std::io::Error| BuildError::Failed(format!("{what}: {e}"));
    std::fs::create_dir_all(work_dir.join("include/libvirt"))
        .map_err(|e| fail(&work_dir.display().to_string(), e))?;

    let driver = driver_source_with(spec, body);
    // Everything that goes into the executable: driver, flags, stub headers, inputs.
    let mut stamp = format!("{opt}\n{driver}");
    for (path, text) in STUB_HEADERS {
        let _ = write!(stamp, "\n{path} {}", fnv1a(text.as_bytes()));
    }
    let mut inputs = Vec::new();
    for x in &spec.x_files {
        let text = std::fs::read(x).map_err(|e| fail(&x.display().to_string(), e))?;
        let name = x
            .file_name()
            .ok_or_else(|| BuildError::Failed(format!("{}: not a file", x.display())))?;
        let _ = write!(stamp, "\n{} {}", name.to_string_lossy(), fnv1a(&text));
        inputs.push((name.to_owned(), text));
    }
    let exe = work_dir.join("driver");
    let stamp_path = work_dir.join("stamp");
    if exe.is_file() && std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(&*stamp) {
        return Ok(exe);
    }

    for (path, text) in STUB_HEADERS {
        let p = work_dir.join("include").join(path);
        std::fs::write(&p, text).map_err(|e| fail(&p.display().to_string(), e))?;
    }
    let mut objects = Vec::new();
    for (name, text) in &inputs {
        // rpcgen names the header it includes after the input file, so it runs on a copy in
        // the work dir under the file's own name.
        let p = work_dir.join(name);
        std::fs::write(&p, text).map_err(|e| fail(&p.display().to_string(), e))?;
        let stem = Path::new(name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let header = format!("{stem}.h");
        let source = format!("{stem}_xdr.c");
        let object = format!("{stem}_xdr.o");
        let _ = std::fs::remove_file(work_dir.join(&header));
        let _ = std::fs::remove_file(work_dir.join(&source));
        run(
            work_dir,
            "rpcgen",
            &["-N", "-h", "-o", &header, &name.to_string_lossy()],
        )?;
        run(
            work_dir,
            "rpcgen",
            &["-N", "-c", "-o", &source, &name.to_string_lossy()],
        )?;
        run(
            work_dir,
            "gcc",
            &gcc_args(opt, &["-c", &source, "-o", &object]),
        )?;
        objects.push(object);
    }
    let p = work_dir.join("driver.c");
    std::fs::write(&p, &driver).map_err(|e| fail(&p.display().to_string(), e))?;
    let mut args = vec!["driver.c"];
    args.extend(objects.iter().map(String::as_str));
    args.extend(["-o", "driver", "-ltirpc", "-lpthread"]);
    run(work_dir, "gcc", &gcc_args(opt, &args))?;
    std::fs::write(&stamp_path, stamp).map_err(|e| fail(&stamp_path.display().to_string(), e))?;
    Ok(exe)
}

/// Evaluates C integer expressions (constants, enum members, `sizeof`) with the headers
/// `rpcgen -h` makes from `x_files`, by compiling and running a tiny program in `work_dir`.
pub fn c_values(
    work_dir: &Path,
    x_files: &[PathBuf],
    exprs: &[&str],
) -> Result<Vec<i128>, BuildError> {
    check_tools()?;
    let fail = |what: &str, e: std::io::Error| BuildError::Failed(format!("{what}: {e}"));
    std::fs::create_dir_all(work_dir.join("include/libvirt"))
        .map_err(|e| fail(&work_dir.display().to_string(), e))?;
    for (path, text) in STUB_HEADERS {
        let p = work_dir.join("include").join(path);
        std::fs::write(&p, text).map_err(|e| fail(&p.display().to_string(), e))?;
    }
    let mut c = String::from("#include <stdio.h>\n#include <rpc/rpc.h>\n");
    for x in x_files {
        let name = x
            .file_name()
            .ok_or_else(|| BuildError::Failed(format!("{}: not a file", x.display())))?;
        let text = std::fs::read(x).map_err(|e| fail(&x.display().to_string(), e))?;
        std::fs::write(work_dir.join(name), text).map_err(|e| fail(&x.display().to_string(), e))?;
        let stem = Path::new(name)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        let header = format!("{stem}.h");
        let _ = std::fs::remove_file(work_dir.join(&header));
        run(
            work_dir,
            "rpcgen",
            &["-N", "-h", "-o", &header, &name.to_string_lossy()],
        )?;
        let _ = writeln!(c, "#include \"{header}\"");
    }
    c.push_str("int main(void) {\n");
    for e in exprs {
        let _ = writeln!(c, "    printf(\"%lld\\n\", (long long)({e}));");
    }
    c.push_str("    return 0;\n}\n");
    let p = work_dir.join("values.c");
    std::fs::write(&p, c).map_err(|e| fail(&p.display().to_string(), e))?;
    run(
        work_dir,
        "gcc",
        &gcc_args(PEER_OPT, &["values.c", "-o", "values", "-ltirpc"]),
    )?;
    let out = Command::new(work_dir.join("values"))
        .output()
        .map_err(|e| fail("running values", e))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            l.trim()
                .parse::<i128>()
                .map_err(|e| BuildError::Failed(format!("values printed {l:?}: {e}")))
        })
        .collect()
}

/// gcc flags shared by every compile: `opt`, and the work dir and the stub dir on the include
/// path.
fn gcc_args<'a>(opt: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![opt, "-w", "-I.", "-Iinclude", "-I/usr/include/tirpc"];
    args.extend_from_slice(rest);
    args
}

/// Runs a tool in `dir`, turning a non-zero exit into an error carrying its stderr.
fn run(dir: &Path, tool: &str, args: &[&str]) -> Result<(), BuildError> {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| BuildError::Failed(format!("running {tool}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BuildError::Failed(format!(
            "`{tool} {}` in {} failed:\n{}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// The echo driver's C source: the generated headers, the type table, then the fixed body.
pub fn driver_source(spec: &PeerSpec) -> String {
    driver_source_with(spec, DRIVER_BODY)
}

/// A driver's C source: the generated headers, the type table, the shared word I/O, then
/// `body`.
fn driver_source_with(spec: &PeerSpec, body: &str) -> String {
    let mut c =
        String::from("/* generated by xdrgen-tests: a C driver over rpcgen's routines */\n");
    c.push_str("#include <rpc/rpc.h>\n");
    for x in &spec.x_files {
        if let Some(stem) = x.file_stem() {
            let _ = writeln!(c, "#include \"{}.h\"", stem.to_string_lossy());
        }
    }
    c.push_str("struct entry { const char *name; size_t size; xdrproc_t proc; };\n");
    c.push_str("static const struct entry table[] = {\n");
    for t in &spec.types {
        let _ = writeln!(c, "    {{ \"{t}\", sizeof({t}), (xdrproc_t)xdr_{t} }},");
    }
    c.push_str("    { 0, 0, 0 }\n};\n");
    let _ = writeln!(c, "static const unsigned table_len = {};", spec.types.len());
    c.push_str(DRIVER_IO);
    c.push_str(body);
    c
}

/// A small stable hash for the build stamp.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
