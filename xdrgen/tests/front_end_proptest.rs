//! Hostile input never panics the front end (parser and checker): arbitrary bytes, and real files with byte ranges
//! deleted, inserted or duplicated.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use xdrgen::check;
use xdrgen::diagnostic::Diagnostics;
use xdrgen::parse::parse_source;
use xdrgen::presets::libvirt_constants;
use xdrgen::source::SourceMap;

fn remote_protocol() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let dir = match std::env::var_os("XDRGEN_LIBVIRT_DIR") {
            Some(dir) => Path::new(&dir).to_path_buf(),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocols/libvirt"),
        };
        let path = dir.join("remote_protocol.x");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    })
}

/// Runs the whole front end — parse, then check what parsed — and renders the diagnostics
/// (rendering walks every span, so a bad span would panic there too).
fn parse(text: &str) {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let parsed = parse_source(&mut sources, "fuzz.x", text, &mut diags);
    assert_eq!(parsed.is_none(), diags.has_errors());
    if let Some(file) = parsed {
        let options = check::Options {
            constants: libvirt_constants(),
            ..Default::default()
        };
        let model = check::check(&[file], &options, &sources, &mut diags);
        assert_eq!(model.is_none(), diags.has_errors());
    }
    let _ = diags.render(&sources);
}

/// Snaps a byte offset down to a character boundary of `s`.
fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Duplicate { from: usize, len: usize, at: usize },
}

fn apply(base: &str, m: &Mutation) -> String {
    let n = base.len();
    match m {
        Mutation::Delete { at, len } => {
            let a = floor(base, at % n);
            let b = floor(base, a + len);
            format!("{}{}", &base[..a], &base[b..])
        }
        Mutation::Insert { at, text } => {
            let a = floor(base, at % n);
            format!("{}{text}{}", &base[..a], &base[a..])
        }
        Mutation::Duplicate { from, len, at } => {
            let a = floor(base, from % n);
            let b = floor(base, a + len);
            let c = floor(base, at % n);
            format!("{}{}{}", &base[..c], &base[a..b], &base[c..])
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Inserted text favours the characters that change the structure of `.x` files.
    let tokens = prop::collection::vec(
        prop::sample::select(vec![
            "{",
            "}",
            ";",
            "/*",
            "*/",
            "//",
            "#if X\n",
            "#endif\n",
            "\n#else\n",
            "%",
            "\n%x\n",
            "<",
            ">",
            "[",
            "]",
            "(",
            ")",
            "=",
            ",",
            "struct ",
            "union ",
            "switch ",
            "case 1:",
            "default:",
            "0x",
            "-",
            "09",
            "\"",
            "\\\n",
            "#include \"a.x\"\n",
            "#define A\n",
            "\n",
            " ",
            "é",
        ]),
        1..8,
    )
    .prop_map(|v| v.concat());
    prop_oneof![
        (any::<usize>(), 0usize..400).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), tokens).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), 0usize..400, any::<usize>())
            .prop_map(|(from, len, at)| Mutation::Duplicate { from, len, at }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn xdr_flavoured_noise_never_panics(text in "[a-z0-9 {};<>\\[\\]()=,:*%#/\\n\"-]{0,300}") {
        parse(&text);
    }
}

proptest! {
    // Each case parses the 160 kB libvirt file: a modest count keeps the test under 20 s in debug.
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn mutated_remote_protocol_never_panics(mutations in prop::collection::vec(mutation(), 1..4)) {
        let mut text = remote_protocol().to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        parse(&text);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let text = format!("struct a {{ {} int x; }};", "struct { ".repeat(5000));
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    assert!(parse_source(&mut sources, "deep.x", &text, &mut diags).is_none());
    assert!(diags.render(&sources).contains("nesting deeper than"));
}

#[test]
fn unmutated_remote_protocol_is_clean() {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    assert!(parse_source(
        &mut sources,
        "remote_protocol.x",
        remote_protocol(),
        &mut diags
    )
    .is_some());
}
