//! The generator against rpcgen on libvirt's nine `.x` files, for the codec_vs_c bench: wall
//! time and peak resident memory of each side, measured the same way (a child process run
//! under GNU `time`).
//!
//! - **xdrgen**: the `xdrgen` CLI as a user installs it (release, default features: mimalloc),
//!   built first by the cargo that built the bench, checks the nine files and generates and
//!   writes their bindings (`generate --libvirt --byte-strings`, no client or server; the
//!   output is removed before each run, so that each run writes it).
//! - **rpcgen**: `rpcgen -h` and `rpcgen -c` on each file, one after the other (18 processes);
//!   the time is their sum and the memory the largest of them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::paths::{libvirt_dir, LIBVIRT_FILES};

/// GNU time, which reports a process's peak resident memory.
const TIME: &str = "/usr/bin/time";

/// One side's figures: wall time and peak resident memory in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Wall time of the process(es).
    pub time: Duration,
    /// Peak resident set size, KiB (of the largest process).
    pub peak_kib: u64,
}

/// Builds the `xdrgen` CLI (`cargo build --release -p xdrgen`, with the cargo that built this
/// bench; without `--release` when the bench itself is a debug build, as `cargo test --benches`
/// makes it) and returns the path cargo reports for it, wherever its target directory is.
pub fn build_cli() -> Result<PathBuf, String> {
    let mut args = vec![
        "build",
        "--quiet",
        "--message-format=json-render-diagnostics",
        "-p",
        "xdrgen",
        "--bin",
        "xdrgen",
    ];
    if !cfg!(debug_assertions) {
        args.push("--release");
    }
    let output = Command::new(env!("CARGO"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo build -p xdrgen: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo build -p xdrgen: {}", output.status));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| {
            l.contains(r#""reason":"compiler-artifact""#) && l.contains(r#""kind":["bin"]"#)
        })
        .find_map(executable)
        .ok_or_else(|| "cargo build -p xdrgen named no executable".to_string())
}

/// The `"executable"` of one of cargo's JSON messages (a plain path: no escapes to undo on the
/// systems the bench runs on).
fn executable(message: &str) -> Option<PathBuf> {
    let (_, rest) = message.split_once(r#""executable":""#)?;
    let (path, _) = rest.split_once('"')?;
    Some(PathBuf::from(path))
}

/// Whether GNU time is there to measure memory.
pub fn available() -> bool {
    Path::new(TIME).is_file()
}

/// Runs `program args` under GNU time; its wall time (measured here) and peak memory.
fn timed(work: &Path, program: &Path, args: &[&str]) -> Result<Run, String> {
    let report = work.join("time.txt");
    let mut cmd = Command::new(TIME);
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args)
        .current_dir(work);
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let time = start.elapsed();
    if !status.success() {
        return Err(format!("{} {args:?}: {status}", program.display()));
    }
    let text = std::fs::read_to_string(&report).map_err(|e| e.to_string())?;
    let peak_kib = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("unexpected GNU time output: {text:?}"))?;
    Ok(Run { time, peak_kib })
}

/// One xdrgen run: the CLI at `cli` on libvirt's files, writing under `work`.
pub fn run_xdrgen(cli: &Path, work: &Path) -> Result<Run, String> {
    let out = work.join("xdrgen-out");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let files: Vec<String> = LIBVIRT_FILES
        .iter()
        .map(|f| libvirt_dir().join(f).display().to_string())
        .collect();
    let output = out.join("libvirt.rs");
    // The CLI leaves an unchanged file alone: every run writes it, as rpcgen's runs do theirs.
    let _ = std::fs::remove_file(&output);
    let output = output.display().to_string();
    let mut args = vec!["generate", "--libvirt", "--byte-strings", "-o", &output];
    args.extend(files.iter().map(String::as_str));
    timed(work, cli, &args)
}

/// One rpcgen run over the nine files: `-h` and `-c` for each, into `work`.
pub fn run_rpcgen(work: &Path) -> Result<Run, String> {
    let rpcgen = Path::new("rpcgen");
    let mut total = Run {
        time: Duration::ZERO,
        peak_kib: 0,
    };
    for file in LIBVIRT_FILES {
        // rpcgen names its includes after the input, so it reads a copy beside its outputs.
        let x = work.join(file);
        if !x.is_file() {
            std::fs::copy(libvirt_dir().join(file), &x).map_err(|e| format!("{file}: {e}"))?;
        }
        let stem = file.trim_end_matches(".x");
        for (flag, ext) in [("-h", "h"), ("-c", "c")] {
            let out = format!("{stem}.{ext}");
            // rpcgen refuses to overwrite an output of an earlier round.
            let _ = std::fs::remove_file(work.join(&out));
            let run = timed(work, rpcgen, &[flag, file, "-o", &out])?;
            total.time += run.time;
            total.peak_kib = total.peak_kib.max(run.peak_kib);
        }
    }
    Ok(total)
}

/// Best (least) time and memory of `rounds` runs of each side, interleaved, after building the
/// CLI.
pub fn compare(work: &Path, rounds: usize) -> Result<(Run, Run), String> {
    std::fs::create_dir_all(work).map_err(|e| e.to_string())?;
    let cli = build_cli()?;
    let best = |a: Option<Run>, b: Run| match a {
        None => Some(b),
        Some(a) => Some(Run {
            time: a.time.min(b.time),
            peak_kib: a.peak_kib.min(b.peak_kib),
        }),
    };
    let (mut x, mut r) = (None, None);
    for _ in 0..rounds.max(1) {
        x = best(x, run_xdrgen(&cli, work)?);
        r = best(r, run_rpcgen(work)?);
    }
    Ok((x.expect("one round"), r.expect("one round")))
}
