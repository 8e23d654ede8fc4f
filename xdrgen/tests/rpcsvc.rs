//! Every `/usr/include/rpcsvc/*.x` (Debian's rpcsvc-proto and libc files) checks and generates
//! with no `--constant`, except the names that only a C header gives them, listed in
//! [`C_ONLY`] and in the README. The directory is missing on machines without rpcsvc-proto:
//! the test then skips, except under CI, which installs it.

use std::path::{Path, PathBuf};

const RPCSVC: &str = "/usr/include/rpcsvc";

/// What a file needs from C headers: constants (name, value, header) and other `.x` files whose
/// definitions C gets through a `%#include`d header.
struct COnly {
    file: &'static str,
    constants: &'static [(&'static str, i128, &'static str)],
    with_files: &'static [&'static str],
    /// The names the file uses without them (the error messages name each).
    missing: &'static [&'static str],
}

const C_ONLY: &[COnly] = &[
    COnly {
        file: "key_prot.x",
        constants: &[("MAXNETNAMELEN", 255, "<rpc/auth.h>")],
        with_files: &[],
        missing: &["MAXNETNAMELEN"],
    },
    COnly {
        file: "nis_callback.x",
        constants: &[],
        // `%#include <rpcsvc/nis.h>`: the header rpcgen makes from nis.x.
        with_files: &["nis.x"],
        missing: &["nis_object", "nis_error"],
    },
];

fn rpcsvc_files() -> Option<Vec<PathBuf>> {
    let dir = Path::new(RPCSVC);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "x"))
        .collect();
    files.sort();
    (!files.is_empty()).then_some(files)
}

#[test]
fn every_rpcsvc_file_checks_and_generates() {
    let Some(files) = rpcsvc_files() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{RPCSVC}/*.x missing: CI must install rpcsvc-proto"
        );
        eprintln!("note: {RPCSVC}/*.x not found (Debian: apt-get install rpcsvc-proto): skipped");
        return;
    };
    let mut checked = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let extra = C_ONLY.iter().find(|c| c.file == name);
        let plain = xdrgen::load(std::slice::from_ref(path), &Default::default());
        let (inputs, options) = match extra {
            None => {
                if let Err(e) = plain {
                    panic!("{name} does not check on its own:\n{}", e.render());
                }
                (vec![path.clone()], xdrgen::check::Options::default())
            }
            Some(c) => {
                // Alone it fails, on exactly the names C gives it.
                let errors = plain.expect_err("needs its C-only names").render();
                for missing in c.missing {
                    assert!(errors.contains(&format!("`{missing}`")), "{name}: {errors}");
                }
                let error_lines = errors.lines().filter(|l| l.contains(": error: ")).count();
                assert_eq!(error_lines, c.missing.len(), "{name}: {errors}");
                let mut inputs: Vec<PathBuf> = c
                    .with_files
                    .iter()
                    .map(|f| Path::new(RPCSVC).join(f))
                    .collect();
                inputs.push(path.clone());
                let mut options = xdrgen::check::Options::default();
                for (constant, value, _) in c.constants {
                    options.constants.insert(constant.to_string(), *value);
                }
                (inputs, options)
            }
        };
        let mut config = xdrgen::Config::new();
        config.files(&inputs).cargo_messages(false);
        for (constant, value) in &options.constants {
            config.constant(constant, *value);
        }
        let text = config
            .generate()
            .unwrap_or_else(|e| panic!("{name}: generate: {e}"));
        assert!(text.contains("pub mod "), "{name}: {text}");
        checked.push(name);
    }
    // The list above names only files that exist, so the README's table stays true.
    for c in C_ONLY {
        assert!(checked.iter().any(|f| f == c.file), "{} is gone", c.file);
    }
    println!(
        "rpcsvc: {} files checked and generated: {checked:?}",
        checked.len()
    );
}
