//! The generator against rpcgen on libvirt's nine `.x` files, for the codec_vs_c bench: wall
//! time and peak resident memory of each side, measured the same way (a child process run
//! under GNU `time`).
//!
//! - **xdrgen**: the bench binary runs itself again with [`GENERATE_ENV`] set; that child loads
//!   (parses and checks) the nine files and generates and writes `libvirt.rs` as the
//!   `protocols` crate's build script does (byte strings, no client or server), then exits.
//! - **rpcgen**: `rpcgen -h` and `rpcgen -c` on each file, one after the other (18 processes);
//!   the time is their sum and the memory the largest of them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::paths::{libvirt_dir, LIBVIRT_FILES};

/// Set to an output directory, it makes the bench binary generate libvirt's code there and exit
/// (see [`generate_if_asked`]).
pub const GENERATE_ENV: &str = "XDRGEN_BENCH_GENERATE";

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

/// When [`GENERATE_ENV`] is set: generates libvirt's bindings into that directory and exits
/// the process (status 0 on success). Otherwise returns.
pub fn generate_if_asked() {
    let Some(dir) = std::env::var_os(GENERATE_ENV) else {
        return;
    };
    let libvirt = libvirt_dir();
    let mut config = xdrgen::Config::new();
    config
        .files(LIBVIRT_FILES.iter().map(|f| libvirt.join(f)))
        .constants(&xdrgen::presets::libvirt_constants())
        .string_mode(xdrgen::StringMode::Bytes)
        .cargo_messages(false)
        .out_dir(PathBuf::from(dir))
        .output_name("libvirt.rs");
    match config.compile() {
        Ok(_) => std::process::exit(0),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

/// Whether GNU time is there to measure memory.
pub fn available() -> bool {
    Path::new(TIME).is_file()
}

/// Runs `program args` under GNU time; its wall time (measured here) and peak memory.
fn timed(
    work: &Path,
    program: &Path,
    args: &[&str],
    env: Option<(&str, &Path)>,
) -> Result<Run, String> {
    let report = work.join("time.txt");
    let mut cmd = Command::new(TIME);
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args)
        .current_dir(work);
    if let Some((key, value)) = env {
        cmd.env(key, value);
    }
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

/// One xdrgen run: this executable, re-run with [`GENERATE_ENV`], writing under `work`.
pub fn run_xdrgen(work: &Path) -> Result<Run, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = work.join("xdrgen-out");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    timed(work, &exe, &[], Some((GENERATE_ENV, &out)))
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
            let run = timed(work, rpcgen, &[flag, file, "-o", &out], None)?;
            total.time += run.time;
            total.peak_kib = total.peak_kib.max(run.peak_kib);
        }
    }
    Ok(total)
}

/// Best (least) time and memory of `rounds` runs of each side, interleaved.
pub fn compare(work: &Path, rounds: usize) -> Result<(Run, Run), String> {
    std::fs::create_dir_all(work).map_err(|e| e.to_string())?;
    let best = |a: Option<Run>, b: Run| match a {
        None => Some(b),
        Some(a) => Some(Run {
            time: a.time.min(b.time),
            peak_kib: a.peak_kib.min(b.peak_kib),
        }),
    };
    let (mut x, mut r) = (None, None);
    for _ in 0..rounds.max(1) {
        x = best(x, run_xdrgen(work)?);
        r = best(r, run_rpcgen(work)?);
    }
    Ok((x.expect("one round"), r.expect("one round")))
}
