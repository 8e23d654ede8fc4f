//! Captures real libvirt traffic and turns it into seed corpora for the fuzz targets.
//!
//! ```text
//! capture proxy LISTEN_SOCKET UPSTREAM_SOCKET DIR   # relay; DIR/N.c2s and DIR/N.s2c per connection
//! capture seeds DIR CORPUS                          # CORPUS/{libvirt_server,libvirt_client,decode_remote}
//! ```
//!
//! Point virsh at the proxy (`-c 'test+unix:///default?socket=LISTEN_SOCKET'`) while the real
//! daemon listens on UPSTREAM_SOCKET; then `seeds` writes each connection's client bytes as a
//! `libvirt_server` seed, its server bytes as a `libvirt_client` seed, and every packet body whose
//! type is known (arguments of a CALL, result of an OK REPLY, an event's message) as a
//! `decode_remote` seed: the type's index, then the body.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use protocols::remote_protocol::REMOTE_PROGRAM_INFO;

include!(concat!(env!("OUT_DIR"), "/types.rs"));

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["proxy", listen, upstream, dir] => proxy(listen, upstream, Path::new(dir)),
        ["seeds", dir, corpus] => seeds(Path::new(dir), Path::new(corpus)),
        _ => Err("usage: capture proxy LISTEN UPSTREAM DIR | capture seeds DIR CORPUS".into()),
    };
    if let Err(e) = result {
        eprintln!("capture: {e}");
        std::process::exit(1);
    }
}

fn proxy(listen: &str, upstream: &str, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let _ = std::fs::remove_file(listen);
    let listener = UnixListener::bind(listen).map_err(|e| format!("{listen}: {e}"))?;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    for client in listener.incoming() {
        let client = client.map_err(|e| e.to_string())?;
        let server = UnixStream::connect(upstream).map_err(|e| format!("{upstream}: {e}"))?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        for (from, to, suffix) in [
            (client.try_clone(), server.try_clone(), "c2s"),
            (server.try_clone(), client.try_clone(), "s2c"),
        ] {
            let (mut from, mut to) = (
                from.map_err(|e| e.to_string())?,
                to.map_err(|e| e.to_string())?,
            );
            let log = dir.join(format!("{n}.{suffix}"));
            std::thread::spawn(move || {
                let mut saved = Vec::new();
                let mut buf = [0u8; 65536];
                while let Ok(k) = from.read(&mut buf) {
                    if k == 0 || to.write_all(&buf[..k]).is_err() {
                        break;
                    }
                    saved.extend_from_slice(&buf[..k]);
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
                let _ = std::fs::write(&log, &saved);
            });
        }
    }
    Ok(())
}

/// The packets of a captured byte stream: (header words, body).
fn packets(mut bytes: &[u8]) -> Vec<([u32; 6], &[u8])> {
    let mut out = Vec::new();
    while bytes.len() >= 28 {
        let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        if len < 28 || len > bytes.len() {
            break;
        }
        let word = |i: usize| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap());
        out.push((
            [word(0), word(1), word(2), word(3), word(4), word(5)],
            &bytes[28..len],
        ));
        bytes = &bytes[len..];
    }
    out
}

fn seeds(dir: &Path, corpus: &Path) -> Result<(), String> {
    let out = |target: &str| -> Result<PathBuf, String> {
        let d = corpus.join(target);
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        Ok(d)
    };
    let (server, client, decode) = (
        out("libvirt_server")?,
        out("libvirt_client")?,
        out("decode_remote")?,
    );
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut decoded = std::collections::BTreeSet::new();
    for path in entries {
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let c2s = name.ends_with(".c2s");
        let target = if c2s { &server } else { &client };
        std::fs::write(target.join(&name), &bytes).map_err(|e| e.to_string())?;
        for ([program, _, procedure, kind, _, status], body) in packets(&bytes) {
            if program != REMOTE_PROGRAM_INFO.number {
                continue;
            }
            let Some(info) = REMOTE_PROGRAM_INFO.procedure(procedure) else {
                continue;
            };
            let ty = match (kind, status) {
                (0, _) => info.args,
                (1, 0) => info.ret,
                (2, _) => info.message,
                _ => None,
            };
            let Some(index) = ty.and_then(|t| TYPES.iter().position(|(n, _)| *n == t)) else {
                continue;
            };
            // One seed per type and size is plenty.
            if !decoded.insert((index, body.len())) {
                continue;
            }
            let mut seed = (index as u32).to_be_bytes().to_vec();
            seed.extend_from_slice(body);
            let file = decode.join(format!("{}-{}", TYPES[index].0, body.len()));
            std::fs::write(file, seed).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
