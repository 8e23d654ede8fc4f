//! Generates Rust for our fixtures (all of them, `rfc_only.x` included) with random-value impls,
//! clients and servers (`libvirt_style.x`'s `DemoClient`, `DemoServer` and `DemoDispatcher`,
//! which need the runtime's `libvirt` feature; the `program` blocks' per-version `…Client`,
//! `…Server` and `…Dispatcher`, which need its `onc` feature),
//! and a registry of every enum, struct and union of the fixtures and of libvirt's files (as the
//! `protocols` crate generates them), each with monomorphized test functions.
//!
//! `collections.x` is generated a second time with byte strings (`XdrBytes`) into
//! `fixtures_bytes.rs`, with its own registry, `FIXTURES_BYTES`; `scalars.x` and `unions.x`
//! with open enums into `fixtures_open.rs`, registry `FIXTURES_OPEN`.
//!
//! Typedefs are registered too: they are Rust `type` aliases of shapes (`Option<T>`, `[T; N]`,
//! `VarArray`, strings, opaque data) whose `Encode`/`Decode` the runtime provides, and rpcgen
//! writes an `xdr_` routine for each, so each is checked on its own against C.

use std::fmt::Write as _;
use std::path::PathBuf;

use xdrgen::model::{Model, Type, TypeDef, TypeKind};

/// Where the inputs are: the same rules as the tests use.
#[path = "src/paths.rs"]
#[allow(dead_code)] // the build script needs only part of it
mod paths;

fn main() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let fixtures_dir = paths::fixtures_dir();
    println!("cargo:rerun-if-changed={}", fixtures_dir.display());
    println!(
        "cargo:rerun-if-env-changed={}",
        xdrgen::presets::LIBVIRT_DIR_ENV
    );

    let fixtures: Vec<PathBuf> = paths::fixture_files()
        .iter()
        .map(|name| fixtures_dir.join(name))
        .collect();

    if let Err(e) = xdrgen::Config::new()
        .files(&fixtures)
        .random_impls(None)
        .build_client(true)
        .build_server(true)
        // rpcgen_dialect.x warns on purpose; the directory's rerun line is printed above.
        .cargo_messages(false)
        .output_name("fixtures.rs")
        .out_dir(&out_dir)
        .compile()
    {
        fail(&format!("generating the fixtures: {e}"));
    }
    let fixture_model = load(&fixtures, &xdrgen::check::Options::default());

    // The strings fixture again in byte-string mode: every `string<N>` an `XdrBytes<N>`.
    let bytes_fixture = [fixtures_dir.join(BYTES_FIXTURE)];
    if let Err(e) = xdrgen::Config::new()
        .files(&bytes_fixture)
        .string_mode(xdrgen::StringMode::Bytes)
        .random_impls(None)
        .output_name("fixtures_bytes.rs")
        .out_dir(&out_dir)
        .compile()
    {
        fail(&format!(
            "generating {BYTES_FIXTURE} with byte strings: {e}"
        ));
    }
    let bytes_model = load(&bytes_fixture, &xdrgen::check::Options::default());

    // Fixtures with enums again, every enum open: unknown values decode and re-encode.
    let open_fixtures: Vec<PathBuf> = paths::OPEN_ENUM_FIXTURES
        .iter()
        .map(|name| fixtures_dir.join(name))
        .collect();
    if let Err(e) = xdrgen::Config::new()
        .files(&open_fixtures)
        .open_enums(true)
        .random_impls(None)
        .output_name("fixtures_open.rs")
        .out_dir(&out_dir)
        .compile()
    {
        fail(&format!(
            "generating {open_fixtures:?} with open enums: {e}"
        ));
    }
    let open_model = load(&open_fixtures, &xdrgen::check::Options::default());

    let libvirt_dir = paths::libvirt_dir();
    let libvirt_files: Vec<PathBuf> = paths::LIBVIRT_FILES
        .iter()
        .map(|f| libvirt_dir.join(f))
        .collect();
    if !libvirt_files[0].is_file() {
        fail(&format!(
            "libvirt's .x files are not in {}: set XDRGEN_LIBVIRT_DIR",
            libvirt_dir.display()
        ));
    }
    let options = xdrgen::check::Options {
        constants: xdrgen::presets::libvirt_constants(),
        ..Default::default()
    };
    let libvirt_model = load(&libvirt_files, &options);

    // libvirt 9.0.0, for the differential: checked by xdrgen, then compared type by type with
    // 11.3.0. A type whose model is the same in both (all but a few: 9.0.0's procedure enums
    // have fewer members) is generated to the same Rust, which `protocols` already compiles;
    // only the others (and what they use) are generated here, so the second libvirt set costs
    // seconds of compile time, not minutes.
    let v9_dir = paths::libvirt_v9_dir();
    let v9_files: Vec<PathBuf> = paths::LIBVIRT_FILES
        .iter()
        .map(|f| v9_dir.join(f))
        .collect();
    let v9 = v9_files
        .iter()
        .all(|f| f.is_file())
        .then(|| v9_set(&load(&v9_files, &options), &libvirt_model));
    let v9_text = match &v9 {
        Some((_, own)) => {
            let emit = xdrgen::emit::Options {
                string_mode: xdrgen::StringMode::Bytes,
                procedure_tables: false,
                random: xdrgen::emit::RandomImpls::Yes,
                ..Default::default()
            };
            format!(
                "// @generated by tests/build.rs: libvirt 9.0.0's types that differ from 11.3.0's\n{}",
                xdrgen::emit::generate(own, &emit)
            )
        }
        // The differential test reports the skip (and fails under CI).
        None => "// libvirt 9.0.0's .x files were not found\n".to_string(),
    };
    let v9_path = out_dir.join("libvirt_v9.rs");
    if std::fs::read_to_string(&v9_path).ok().as_deref() != Some(&*v9_text) {
        std::fs::write(&v9_path, &v9_text)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", v9_path.display())));
    }
    for f in &v9_files {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let mut reg = String::from("// @generated by tests/build.rs\n");
    let closed = Enums::Closed;
    registry(
        &mut reg,
        "FIXTURES",
        (&fixture_model, closed),
        "crate::fixtures",
        |file| !paths::RPCGEN_REJECTS.contains(&file),
    );
    registry(
        &mut reg,
        "FIXTURES_BYTES",
        (&bytes_model, closed),
        "crate::fixtures_bytes",
        |_| true,
    );
    registry(
        &mut reg,
        "FIXTURES_OPEN",
        (&open_model, Enums::Open),
        "crate::fixtures_open",
        |_| true,
    );
    registry(
        &mut reg,
        "LIBVIRT",
        (&libvirt_model, closed),
        "::protocols",
        |_| true,
    );
    match &v9 {
        Some((all, own)) => {
            // Each 9.0.0 type from `protocols` when 11.3.0 has it the same, else from here.
            let own_names: Vec<&str> = own
                .modules
                .iter()
                .flat_map(|m| &m.types)
                .map(|t| t.xdr_name.as_str())
                .collect();
            registry_with(
                &mut reg,
                "LIBVIRT_V9",
                (all, closed),
                |t| {
                    if own_names.contains(&t) {
                        "crate::libvirt_v9"
                    } else {
                        "::protocols"
                    }
                },
                |_| true,
            );
        }
        None => {
            let _ = writeln!(reg, "/// Empty: libvirt 9.0.0's files were not found.");
            let _ = writeln!(reg, "pub static LIBVIRT_V9: &[Entry] = &[];");
        }
    }
    rpcsvc(&out_dir);
    let path = out_dir.join("registry.rs");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(&*reg) {
        std::fs::write(&path, reg).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    }
}

/// The fixture generated a second time in byte-string mode (see `paths::BYTES_FIXTURE`).
const BYTES_FIXTURE: &str = paths::BYTES_FIXTURE;

/// Debian's own `.x` files (`/usr/include/rpcsvc`, from rpcsvc-proto; read where they are,
/// never copied here): each generates types, codecs, ONC RPC clients and servers into
/// `rpcsvc_<stem>.rs`, and `rpcsvc.rs` makes them one module each (`rstat_x`, holding the
/// generated `rstat`), compiled with this crate under `cfg(rpcsvc)`. Without the directory
/// (rpcsvc-proto not installed) nothing is generated and the tests that use them are left out.
///
/// What the files leave to C is given the way a user would: `MAXNETNAMELEN` (key_prot.x) is
/// libtirpc's `rpc/auth.h` value, and nis_callback.x is generated with nis.x, whose types it
/// takes from `<rpcsvc/nis.h>`.
fn rpcsvc(out_dir: &std::path::Path) {
    println!("cargo::rustc-check-cfg=cfg(rpcsvc)");
    let dir = paths::rpcsvc_dir();
    println!("cargo:rerun-if-env-changed=XDRGEN_RPCSVC_DIR");
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut stems: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".x")
                .map(String::from)
        })
        .collect();
    stems.sort();
    if stems.is_empty() {
        return;
    }
    let mut index = String::from("// @generated by tests/build.rs\n");
    for stem in &stems {
        let mut files = Vec::new();
        if stem == "nis_callback" {
            files.push(dir.join("nis.x"));
        }
        files.push(dir.join(format!("{stem}.x")));
        let name = format!("rpcsvc_{stem}.rs");
        let mut config = xdrgen::Config::new();
        match stem.as_str() {
            "key_prot" => config.constant("MAXNETNAMELEN", 255),
            _ => &mut config,
        };
        // Their warnings (string constants rpcgen copies to C, enum aliases) are not ours to fix:
        // they go to the build script's stderr, not to every build's output.
        if let Err(e) = config
            .files(&files)
            .cargo_messages(false)
            .build_client(true)
            .build_server(true)
            .output_name(&name)
            .out_dir(out_dir)
            .compile()
        {
            fail(&format!(
                "generating {}: {e}",
                dir.join(format!("{stem}.x")).display()
            ));
        }
        let _ = writeln!(
            index,
            "/// Generated from `{stem}.x` (with the files it needs).\npub mod {stem}_x {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/{name}\"));\n}}"
        );
    }
    let path = out_dir.join("rpcsvc.rs");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(&*index) {
        std::fs::write(&path, index).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    }
    println!("cargo:rustc-cfg=rpcsvc");
}

/// libvirt 9.0.0's model (`v9`, all of it, for the registry) and the part of it to generate:
/// the types whose model differs from 11.3.0's (docs aside), with every type they use, and
/// each module's constants (for their bounds).
fn v9_set(v9: &Model, v11: &Model) -> (Model, Model) {
    let differs = |t: &TypeDef| {
        v11.type_def(&t.xdr_name)
            .is_none_or(|old| undocumented(old) != undocumented(t))
    };
    let mut wanted: Vec<String> = v9
        .modules
        .iter()
        .flat_map(|m| &m.types)
        .filter(|t| differs(t))
        .map(|t| t.xdr_name.clone())
        .collect();
    // Close over the types they use (a fixed point: the sets are small).
    loop {
        let mut used = Vec::new();
        for name in &wanted {
            if let Some(def) = v9.type_def(name) {
                named_types(&def.kind, &mut used);
            }
        }
        let before = wanted.len();
        for name in used {
            if !wanted.contains(&name) {
                wanted.push(name);
            }
        }
        if wanted.len() == before {
            break;
        }
    }
    let mut own = v9.clone();
    for m in &mut own.modules {
        m.types.retain(|t| wanted.contains(&t.xdr_name));
        m.programs.clear();
        m.texts.clear();
    }
    own.modules.retain(|m| !m.types.is_empty());
    (v9.clone(), own)
}

/// A type definition with every doc comment removed, to compare shapes.
fn undocumented(def: &TypeDef) -> TypeDef {
    let mut def = def.clone();
    def.docs = Default::default();
    match &mut def.kind {
        TypeKind::Alias(_) => {}
        TypeKind::Enum(e) => e
            .members
            .iter_mut()
            .for_each(|m| m.docs = Default::default()),
        TypeKind::Struct(s) => s
            .fields
            .iter_mut()
            .for_each(|f| f.docs = Default::default()),
        TypeKind::Union(u) => {
            for c in &mut u.cases {
                c.docs = Default::default();
                if let Some(f) = &mut c.field {
                    f.docs = Default::default();
                }
            }
            if let Some(Some(f)) = &mut u.default {
                f.docs = Default::default();
            }
        }
    }
    def
}

/// Pushes the `.x` names of the named types a definition uses.
fn named_types(kind: &TypeKind, out: &mut Vec<String>) {
    fn walk(t: &Type, out: &mut Vec<String>) {
        match t {
            Type::Named(r) => out.push(r.xdr_name.clone()),
            Type::FixedArray(inner, _) | Type::VarArray(inner, _) => walk(inner, out),
            Type::Optional { inner, .. } => walk(inner, out),
            _ => {}
        }
    }
    match kind {
        TypeKind::Alias(t) => walk(t, out),
        TypeKind::Enum(_) => {}
        TypeKind::Struct(s) => s.fields.iter().for_each(|f| walk(&f.ty, out)),
        TypeKind::Union(u) => {
            walk(&u.discriminant, out);
            u.cases
                .iter()
                .filter_map(|c| c.field.as_ref())
                .chain(u.default.iter().flatten())
                .for_each(|f| walk(&f.ty, out));
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1)
}

fn load(files: &[PathBuf], options: &xdrgen::check::Options) -> Model {
    match xdrgen::load(files, options) {
        Ok(loaded) => loaded.model,
        Err(e) => fail(&format!("checking {files:?}:\n{}", e.render())),
    }
}

/// Whether a set's enums are generated open (any value decodes) or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enums {
    Closed,
    Open,
}

/// Writes `pub static NAME: &[Entry]` for every type of `model`: enums, structs, unions and
/// typedefs, each at `root::module::Name`.
fn registry(
    out: &mut String,
    name: &str,
    set: (&Model, Enums),
    root: &str,
    in_c: impl Fn(&str) -> bool,
) {
    registry_with(out, name, set, |_| root, in_c);
}

/// [`registry`] with a root per type (by `.x` name).
fn registry_with<'r>(
    out: &mut String,
    name: &str,
    (model, enums): (&Model, Enums),
    root_of: impl Fn(&str) -> &'r str,
    in_c: impl Fn(&str) -> bool,
) {
    let _ = writeln!(
        out,
        "/// Every enum, struct, union and typedef of the {name} set."
    );
    let _ = writeln!(out, "pub static {name}: &[Entry] = &[");
    for module in &model.modules {
        let file = module
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        for t in &module.types {
            let ty = format!("{}::{}::{}", root_of(&t.xdr_name), module.name, t.rust_name);
            let first = first_word_of_def((model, enums), &t.xdr_name, 0);
            let mut invalid = Vec::new();
            invalid_words_of_def((model, enums), &t.xdr_name, 0, 0, &mut invalid);
            let invalid: Vec<String> = invalid
                .iter()
                .map(|(at, v)| format!("({at}, {v:#x})"))
                .collect();
            let _ = writeln!(
                out,
                "    Entry {{ file: {file:?}, xdr_name: {:?}, rust_name: {:?}, in_c: {}, \
                 first_word: FirstWord::{first}, invalid_words: &[{}], \
                 differential: differential::<{ty}>, properties: properties::<{ty}>, \
                 random_words: random_words::<{ty}> }},",
                t.xdr_name,
                t.rust_name,
                in_c(&file),
                invalid.join(", "),
            );
        }
    }
    out.push_str("];\n");
}

/// Values no enum/discriminant here uses; the first one missing from a set is the forged word.
const CANDIDATES: &[i128] = &[0x7fff_fff0, 0x1234_5679, -0x7654_3211, 77_777];

fn not_in(values: &[i128]) -> String {
    format!("Invalid({:#x})", not_in_word(values))
}

fn not_in_word(values: &[i128]) -> u32 {
    let v = CANDIDATES
        .iter()
        .find(|c| !values.contains(c))
        .copied()
        .unwrap_or(0x7fff_ffef);
    v as u32
}

/// What the first word of a named type's encoding is (see `FirstWord` in src/properties.rs).
fn first_word_of_def(set: (&Model, Enums), xdr_name: &str, depth: u32) -> String {
    let (model, enums) = set;
    let Some(def) = model.type_def(xdr_name) else {
        return "Other".into();
    };
    if depth > 32 {
        return "Other".into();
    }
    match &def.kind {
        TypeKind::Alias(t) => first_word(set, t, depth + 1),
        // An open enum takes any word.
        TypeKind::Enum(_) if enums == Enums::Open => "Other".into(),
        TypeKind::Enum(e) => not_in(
            &e.members
                .iter()
                .map(|m| i128::from(m.value))
                .collect::<Vec<_>>(),
        ),
        TypeKind::Struct(s) => match s.fields.first() {
            Some(f) => first_word(set, &f.ty, depth + 1),
            None => "Other".into(),
        },
        TypeKind::Union(u) => match &u.discriminant {
            Type::Bool => "Invalid(2)".into(),
            _ if u.default.is_some() && enums == Enums::Open => "Other".into(),
            // Without a default arm, a value no case names fails however open the enum is.
            Type::Named(_) if enums == Enums::Open => {
                not_in(&u.cases.iter().map(|c| c.value).collect::<Vec<_>>())
            }
            Type::Named(r) => first_word_of_def(set, &r.xdr_name, depth + 1),
            _ if u.default.is_some() => "Other".into(),
            _ => not_in(&u.cases.iter().map(|c| c.value).collect::<Vec<_>>()),
        },
    }
}

fn first_word(set: (&Model, Enums), t: &Type, depth: u32) -> String {
    match t {
        Type::Bool | Type::Optional { .. } => "Invalid(2)".into(),
        Type::Char | Type::UnsignedChar => "Invalid(0x100)".into(),
        Type::Short => "Invalid(0x8000)".into(),
        Type::UnsignedShort => "Invalid(0x10000)".into(),
        Type::Named(r) => first_word_of_def(set, &r.xdr_name, depth),
        Type::VarOpaque(_) | Type::String(_) => "BytesLength".into(),
        Type::VarArray(..) => "ArrayLength".into(),
        Type::FixedArray(inner, n) if n.value > 0 => first_word(set, inner, depth + 1),
        _ => "Other".into(),
    }
}

/// Collects `(byte offset, word)` pairs: words at fixed offsets of every encoding of the type
/// (reached through fixed-size fields only) that hold a bool, enum, discriminant, optional
/// flag or small integer, each with a value it can never take. Returns the type's encoded size
/// when that is fixed, `None` when it varies (later fields then have no fixed offset).
fn invalid_words_of_def(
    set: (&Model, Enums),
    xdr_name: &str,
    base: u32,
    depth: u32,
    out: &mut Vec<(u32, u32)>,
) -> Option<u32> {
    let (model, enums) = set;
    let def = model.type_def(xdr_name)?;
    if depth > 32 {
        return None;
    }
    match &def.kind {
        TypeKind::Alias(t) => invalid_words(set, t, base, depth + 1, out),
        TypeKind::Enum(_) if enums == Enums::Open => Some(4),
        TypeKind::Enum(e) => {
            let values: Vec<i128> = e.members.iter().map(|m| i128::from(m.value)).collect();
            out.push((base, not_in_word(&values)));
            Some(4)
        }
        TypeKind::Struct(s) => {
            let mut offset = 0;
            for f in &s.fields {
                offset += invalid_words(set, &f.ty, base + offset, depth + 1, out)?;
            }
            Some(offset)
        }
        TypeKind::Union(u) => {
            match &u.discriminant {
                Type::Bool => out.push((base, 2)),
                Type::Named(_) if enums == Enums::Open && u.default.is_some() => {}
                Type::Named(_) if enums == Enums::Open => {
                    let values: Vec<i128> = u.cases.iter().map(|c| c.value).collect();
                    out.push((base, not_in_word(&values)));
                }
                Type::Named(r) => {
                    invalid_words_of_def(set, &r.xdr_name, base, depth + 1, out);
                }
                _ if u.default.is_none() => {
                    let values: Vec<i128> = u.cases.iter().map(|c| c.value).collect();
                    out.push((base, not_in_word(&values)));
                }
                _ => {}
            }
            None
        }
    }
}

fn invalid_words(
    set: (&Model, Enums),
    t: &Type,
    base: u32,
    depth: u32,
    out: &mut Vec<(u32, u32)>,
) -> Option<u32> {
    let (word, size) = match t {
        Type::Bool => (Some(2), Some(4)),
        Type::Optional { .. } => (Some(2), None),
        Type::Char | Type::UnsignedChar => (Some(0x100), Some(4)),
        Type::Short => (Some(0x8000), Some(4)),
        Type::UnsignedShort => (Some(0x1_0000), Some(4)),
        Type::Int | Type::UnsignedInt | Type::Float => (None, Some(4)),
        Type::Hyper | Type::UnsignedHyper | Type::Double => (None, Some(8)),
        Type::FixedOpaque(n) => (None, Some(n.value.div_ceil(4) * 4)),
        Type::Named(r) => return invalid_words_of_def(set, &r.xdr_name, base, depth, out),
        Type::FixedArray(inner, n) => {
            let mut offset = 0;
            for _ in 0..n.value.min(64) {
                offset += invalid_words(set, inner, base + offset, depth + 1, out)?;
            }
            if n.value > 64 {
                // Long arrays: the first elements are enough; the size still counts them all.
                let one = offset / 64;
                offset = one.checked_mul(n.value)?;
            }
            return Some(offset);
        }
        _ => (None, None),
    };
    if let Some(w) = word {
        out.push((base, w));
    }
    size
}
