//! The generated Rust of each of our fixture files, pinned with insta so that every change to the
//! output is reviewed. `build.rs` compiles the same output (with the files as one unit), so the
//! snapshots show code that builds and whose codecs the other tests exercise.

use xdrgen_tests::paths::{fixture_files, fixtures_dir, BYTES_FIXTURE};

#[test]
fn generated_rust_of_every_fixture() {
    let files = fixture_files();
    assert!(files.len() >= 10, "fixtures missing: {files:?}");
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

/// The strings fixture in byte-string mode, as `build.rs` compiles it: every `string<N>` an
/// `XdrBytes<N>` (the snapshot without the mode, `collections`, has `XdrString<N>`).
#[test]
fn generated_rust_of_the_strings_fixture_with_byte_strings() {
    let text = xdrgen::Config::new()
        .file(fixtures_dir().join(BYTES_FIXTURE))
        .string_mode(xdrgen::StringMode::Bytes)
        .cargo_messages(false)
        .generate()
        .unwrap_or_else(|e| panic!("{BYTES_FIXTURE}: {e}"));
    assert!(!text.contains("XdrString"), "a string left in UTF-8 mode");
    insta::assert_snapshot!("collections_byte_strings", text);
}

/// One typedef of the strings fixture in byte-string mode, the rest UTF-8.
#[test]
fn generated_rust_of_the_strings_fixture_with_one_byte_string_type() {
    let text = xdrgen::Config::new()
        .file(fixtures_dir().join(BYTES_FIXTURE))
        .string_mode_for("co_text", xdrgen::StringMode::Bytes)
        .cargo_messages(false)
        .generate()
        .unwrap_or_else(|e| panic!("{BYTES_FIXTURE}: {e}"));
    assert_eq!(text.matches("XdrBytes").count(), 1, "only co_text");
    insta::assert_snapshot!("collections_one_byte_string_type", text);
}

/// `onc_demo.x` with its per-version ONC RPC clients, server traits and dispatchers
/// (`build_client` and `build_server` on RFC 5531 `program` blocks), as `build.rs` compiles it.
#[test]
fn generated_onc_client_and_server_of_the_onc_demo_fixture() {
    let text = xdrgen::Config::new()
        .file(fixtures_dir().join("onc_demo.x"))
        .build_client(true)
        .build_server(true)
        .cargo_messages(false)
        .generate()
        .unwrap_or_else(|e| panic!("onc_demo.x: {e}"));
    insta::assert_snapshot!("onc_demo_client_server", text);
}

/// The unions fixture with open enums, as `build.rs` compiles it (with `scalars.x`): `UnKind`
/// gains `Unknown(i32)` and `From<i32>`, and `un_containers`, which names every member, still
/// refuses other discriminants.
#[test]
fn generated_rust_of_the_unions_fixture_with_open_enums() {
    let text = xdrgen::Config::new()
        .file(fixtures_dir().join("unions.x"))
        .open_enums(true)
        .cargo_messages(false)
        .generate()
        .unwrap_or_else(|e| panic!("unions.x: {e}"));
    assert!(text.contains("Unknown(i32),"));
    assert!(
        !text.contains("TryFrom<i32>"),
        "an open enum converts with From"
    );
    insta::assert_snapshot!("unions_open_enums", text);
}
