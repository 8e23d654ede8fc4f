//! The front end on arbitrary `.x` text: parse, check, and, where check passes, generate. Any
//! input must end in a model or in diagnostics that render, never in a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xdrgen::diagnostic::Diagnostics;
use xdrgen::source::SourceMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = SourceMap::new();
    let mut diagnostics = Diagnostics::new();
    // A name with no directory part: `#include` lines look for files that do not exist.
    let parsed = xdrgen::parse::parse_source(&mut sources, "fuzz.x", text, &mut diagnostics);
    if let Some(parsed) = parsed {
        let options = xdrgen::check::Options::default();
        let model = xdrgen::check::check(&[parsed], &options, &sources, &mut diagnostics);
        if let Some(model) = model.filter(|_| !diagnostics.has_errors()) {
            let _ = xdrgen::emit::generate(&model, &xdrgen::emit::Options::default());
        }
    }
    let _ = diagnostics.render(&sources);
});
