//! The generated Rust of each of our fixture files, pinned with insta so that every change to the
//! output is reviewed. `build.rs` compiles the same output (with the files as one unit), so the
//! snapshots show code that builds and whose codecs the other tests exercise.

use xdrgen_tests::paths::{fixture_files, fixtures_dir};

#[test]
fn generated_rust_of_every_fixture() {
    let files = fixture_files();
    assert!(files.len() >= 9, "fixtures missing: {files:?}");
    for name in files {
        let text = xdrgen::Config::new()
            .file(fixtures_dir().join(&name))
            .cargo_messages(false)
            .generate()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_snapshot!(name.trim_end_matches(".x"), text);
    }
}

/// `libvirt_style.x` with its async client and event enum (`build_client`), as `build.rs`
/// compiles it.
#[test]
fn generated_client_of_the_libvirt_style_fixture() {
    let text = xdrgen::Config::new()
        .file(fixtures_dir().join("libvirt_style.x"))
        .build_client(true)
        .cargo_messages(false)
        .generate()
        .unwrap_or_else(|e| panic!("libvirt_style.x: {e}"));
    insta::assert_snapshot!("libvirt_style_client", text);
}

/// `libvirt_style.x` with its server trait and dispatcher (`build_server`), as `build.rs`
/// compiles it.
#[test]
fn generated_server_of_the_libvirt_style_fixture() {
    let text = xdrgen::Config::new()
        .file(fixtures_dir().join("libvirt_style.x"))
        .build_server(true)
        .cargo_messages(false)
        .generate()
        .unwrap_or_else(|e| panic!("libvirt_style.x: {e}"));
    insta::assert_snapshot!("libvirt_style_server", text);
}
