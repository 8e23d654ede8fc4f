//! [`crate::model::Model`] → Rust source.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Model, Module, ProgramStyle};

mod client;
mod codec;
mod docs;
mod onc_client;
mod onc_server;
#[cfg(test)]
mod onc_tests;
mod procs;
#[cfg(test)]
mod program_tests;
mod random;
mod roles;
mod rust_type;
mod server;
#[cfg(test)]
mod server_tests;
mod shape;
#[cfg(test)]
mod test_models;
#[cfg(test)]
mod tests;
mod types;

/// Whether and how to emit random-value generators (`xdrgen_runtime::random::Random` impls),
/// used by property and differential tests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RandomImpls {
    /// Do not emit them.
    #[default]
    No,
    /// Emit them unconditionally.
    Yes,
    /// Emit them under `#[cfg(feature = "...")]` of the crate that includes the output.
    Feature(String),
}

/// How `string<N>` is held in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StringMode {
    /// `XdrString<N>`: UTF-8 text. Decoding fails on bytes that are not UTF-8 (the default).
    #[default]
    Utf8,
    /// `XdrBytes<N>`: the bytes as sent, whatever they are; text is checked when it is read
    /// (`as_str()` returns a `Result`). What a C peer sends in a `char *` (a Latin-1 path, a
    /// byte in a name) decodes and re-encodes byte for byte.
    Bytes,
}

/// What to emit and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The path of the runtime crate in generated code (default `::xdrgen_runtime`).
    pub runtime_path: String,
    /// Extra attributes for generated types: (`.x` type name or `.` for every type, attribute
    /// text such as `#[derive(PartialOrd)]`).
    pub type_attributes: Vec<(String, String)>,
    /// Emit `Encode`/`Decode` impls (on by default).
    pub codecs: bool,
    /// Emit random-value generators.
    pub random: RandomImpls,
    /// Emit a procedure table (`…_INFO: ProgramInfo`) per program version (on by default).
    /// Clients get the tables they use even when this is off.
    pub procedure_tables: bool,
    /// Emit async clients (off by default; needs `codecs`). The kind follows how each program is
    /// written: a libvirt-style program gets one client (and event enum) calling the runtime's
    /// `libvirt` module (feature `libvirt`); an RFC 5531 `program` block gets one client per
    /// version calling the runtime's `onc` module (feature `onc`).
    pub client: bool,
    /// Emit server traits and dispatchers (off by default; needs `codecs`), chosen like
    /// clients: one per libvirt-style program (`libvirt::server`), one per version of an
    /// RFC 5531 program (`onc::Server`).
    pub server: bool,
    /// How `string<N>` is held where `string_modes` says nothing.
    pub string_mode: StringMode,
    /// Per-file or per-type string modes: (`.x` type name, or a file's name such as
    /// `remote_protocol.x` or its path as given, mode). A type's entry wins over its file's;
    /// a later entry for the same name wins over an earlier one.
    pub string_modes: Vec<(String, StringMode)>,
    /// Make every enum open: a value no member has decodes to an `Unknown(i32)` variant and
    /// re-encodes unchanged, as libtirpc's `xdr_enum` takes any value (off by default).
    pub open_enums: bool,
    /// The `.x` names of the enums that are open when `open_enums` is off.
    pub open_enum_names: Vec<String>,
}

impl Options {
    /// The string mode of the declarations in `module` (and, when given, of the type
    /// `xdr_type` defined there).
    pub fn string_mode_in(&self, module: &Module, xdr_type: Option<&str>) -> StringMode {
        let find = |name: &str| {
            self.string_modes
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, m)| *m)
        };
        let by_type = xdr_type.and_then(find);
        let file_name = module.path.file_name().map(|f| f.to_string_lossy());
        let by_file = || {
            file_name
                .as_deref()
                .and_then(find)
                .or_else(|| find(&module.path.to_string_lossy()))
        };
        by_type.or_else(by_file).unwrap_or(self.string_mode)
    }

    /// Whether the enum `xdr_name` is open (takes values no member has).
    pub fn enum_is_open(&self, xdr_name: &str) -> bool {
        self.open_enums || self.open_enum_names.iter().any(|n| n == xdr_name)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runtime_path: "::xdrgen_runtime".to_string(),
            type_attributes: Vec::new(),
            codecs: true,
            random: RandomImpls::No,
            procedure_tables: true,
            client: false,
            server: false,
            string_mode: StringMode::Utf8,
            string_modes: Vec::new(),
            open_enums: false,
            open_enum_names: Vec::new(),
        }
    }
}

/// Emits the Rust source for a model: one `pub mod` per [`crate::model::Module`], formatted.
///
/// Types, constants and (per `options`) their `Encode`/`Decode` and `Random` impls, the programs'
/// procedure tables, and their async clients and server traits with dispatchers (libvirt's
/// protocol for libvirt-style programs, standard ONC RPC for `program` blocks). The output is
/// one Rust file's items (no `@generated` header: the caller adds it).
pub fn generate(model: &Model, options: &Options) -> String {
    let rt_error = runtime_path(&options.runtime_path).1;
    let inlined = shape::inlined_decoders(model);
    let mut top = String::new();
    if !rt_error.is_empty() {
        format_into(&mut top, rt_error);
    }
    // User constants belong to no file: at the top, beside the modules, they have one path
    // whatever the order of the files.
    if !model.user_constants.is_empty() {
        let user_constants = model.user_constants.iter().map(types::const_item);
        format_into(&mut top, quote!(#(#user_constants)*));
    }
    let mut out = space_items(&top);
    let jobs: Vec<Job<'_>> = model.modules.iter().flat_map(module_jobs).collect();
    let types: usize = model.modules.iter().map(|m| m.types.len()).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(types / TYPES_PER_THREAD);
    let shared = Shared {
        model,
        options,
        inlined: &inlined,
    };
    // Each job's text is spaced on its thread: only where two texts meet is left to space.
    for text in run_jobs(&shared, &jobs, threads) {
        let first = text.lines().next();
        if let (Some(prev), Some(first)) = (out.lines().next_back(), first) {
            if blank_between(prev, first) {
                out.push('\n');
            }
        }
        out.push_str(&text);
    }
    out
}

/// Formats `tokens`, items of a file, and appends them to `out`.
fn format_into(out: &mut String, tokens: TokenStream) {
    match syn::parse2::<syn::File>(tokens) {
        Ok(file) => docs::expand_blocks(&prettyplease::unparse(&file), out),
        // Only reachable through a generator bug; the raw tokens still show what went wrong.
        Err(e) => {
            out.push_str(&format!("::core::compile_error!({:?});\n", e.to_string()));
        }
    }
}

/// Formats `items`, items of the module whose first line is `open` (`pub mod name {`), as they
/// are formatted inside it, and appends them to `out` without that line and the closing brace.
///
/// A module is formatted a few items at a time rather than whole: the syntax tree of all of
/// libvirt's 2.7 MB at once took most of the generator's time and memory (issue 13), and the
/// printer lays out each item on its own anyway, so the text is the same.
fn format_in_module(out: &mut String, name: &proc_macro2::Ident, open: &str, items: TokenStream) {
    if items.is_empty() {
        return;
    }
    let mut text = String::new();
    format_into(&mut text, quote!(pub mod #name { #items }));
    let body = text
        .strip_prefix(open)
        .and_then(|t| t.trim_end().strip_suffix('}'))
        .unwrap_or(&text);
    out.push_str(body);
}

/// The items the emitter adds for programs (procedure tables, clients, event enums, server
/// traits and dispatchers) whose names
/// a `.x` constant or type of the same module already takes, each as a sentence. Generated code
/// with such a clash would not compile; [`crate::Config`] refuses to generate it.
pub fn name_clashes(model: &Model, options: &Options) -> Vec<String> {
    let mut out = Vec::new();
    for module in &model.modules {
        let clash = |name: &str, what: &str, program: &str, out: &mut Vec<String>| {
            let taken = module
                .consts
                .iter()
                .map(|c| (&c.xdr_name, &c.rust_name, "constant"))
                .chain(
                    module
                        .types
                        .iter()
                        .map(|t| (&t.xdr_name, &t.rust_name, "type")),
                )
                .find(|(_, rust, _)| *rust == name);
            if let Some((xdr, _, kind)) = taken {
                out.push(format!(
                    "the {what} `{name}` of program `{program}` has the Rust name of the {kind} \
                     `{xdr}` in {}",
                    module.path.display()
                ));
            }
        };
        for program in &module.programs {
            let ProgramItems {
                tables,
                client,
                server,
            } = program_items(options);
            if tables {
                for version in &program.versions {
                    let name = procs::info_name(program, version);
                    clash(&name, "procedure table", &program.xdr_name, &mut out);
                }
            }
            if program.style == ProgramStyle::OncRpc {
                for version in &program.versions {
                    let base = crate::naming::version_name(&version.xdr_name);
                    let mut names = Vec::new();
                    if client {
                        names.push((crate::naming::client_name(&base), "client"));
                    }
                    if server {
                        names.push((crate::naming::server_trait_name(&base), "server trait"));
                        names.push((crate::naming::dispatcher_name(&base), "dispatcher"));
                    }
                    for (name, what) in names {
                        clash(&name, what, &program.xdr_name, &mut out);
                    }
                }
                continue;
            }
            if client {
                let name = crate::naming::client_name(&program.rust_name);
                clash(&name, "client", &program.xdr_name, &mut out);
                let mut procedures = program.versions.iter().flat_map(|v| &v.procedures);
                if procedures.any(|p| p.message.is_some()) {
                    let name = crate::naming::event_enum_name(&program.rust_name);
                    clash(&name, "event enum", &program.xdr_name, &mut out);
                }
            }
            if server {
                let name = crate::naming::server_trait_name(&program.rust_name);
                clash(&name, "server trait", &program.xdr_name, &mut out);
                let name = crate::naming::dispatcher_name(&program.rust_name);
                clash(&name, "dispatcher", &program.xdr_name, &mut out);
            }
        }
    }
    out
}

/// What a program gets.
struct ProgramItems {
    tables: bool,
    client: bool,
    server: bool,
}

/// Whether a program gets its procedure tables, clients and servers: both need their program's
/// tables.
fn program_items(options: &Options) -> ProgramItems {
    let client = options.client;
    let server = options.server;
    ProgramItems {
        tables: options.procedure_tables || client || server,
        client,
        server,
    }
}

/// Puts a blank line between items, as a person would (prettyplease keeps them together).
///
/// An item starts at a line opening with a doc comment, attribute, `pub`, `impl`, `fn` or
/// `type` right after a line that ends an item (`}` or `;`) at the same indentation, and after a
/// module's inner docs and attributes. Generated function bodies contain no lines of that form.
fn space_items(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut prev: Option<&str> = None;
    for line in text.lines() {
        if prev.is_some_and(|p| blank_between(p, line)) {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        prev = Some(line);
    }
    out
}

/// Whether a blank line goes between the lines `prev` and `line` (see [`space_items`]).
fn blank_between(prev: &str, line: &str) -> bool {
    const STARTS: [&str; 6] = ["///", "#[", "pub ", "impl", "fn ", "type "];
    let indent = |l: &str| l.len() - l.trim_start().len();
    let (pt, lt) = (prev.trim(), line.trim());
    let ends_item = (pt == "}" || pt.ends_with(';')) && !pt.starts_with("//");
    let starts_item = STARTS.iter().any(|s| lt.starts_with(s));
    let inner = |l: &str| l.starts_with("//!") || l.starts_with("#![");
    let after_inner_docs = inner(pt) && !inner(lt);
    (ends_item && starts_item && indent(prev) == indent(line)) || after_inner_docs
}

/// An identifier from a model name: `r#type` becomes a raw identifier; a name that is not an
/// identifier at all (a model bug) is made one rather than panicking.
pub(crate) fn ident(name: &str) -> proc_macro2::Ident {
    // The common case without a parser, which would tokenize the name first.
    let plain = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && s != "_"
    };
    if plain(name) && !crate::naming::is_keyword(name) {
        return proc_macro2::Ident::new(name, proc_macro2::Span::call_site());
    }
    if let Ok(id) = syn::parse_str::<proc_macro2::Ident>(name) {
        return id;
    }
    let mut clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !clean.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        clean.insert(0, '_');
    }
    match syn::parse_str::<proc_macro2::Ident>(&clean) {
        Ok(id) => id,
        // A keyword: raw, unless it cannot be (`self`, `_`), then with a `_` after it.
        Err(_) if crate::naming::can_be_raw(&clean) => {
            proc_macro2::Ident::new_raw(&clean, proc_macro2::Span::call_site())
        }
        Err(_) => proc_macro2::Ident::new(&format!("{clean}_"), proc_macro2::Span::call_site()),
    }
}

/// What every emitter needs: the model, the options, the module being emitted and the path of
/// the runtime's `codegen` module.
pub(crate) struct Ctx<'a> {
    /// The whole model, to follow named types into other modules.
    pub model: &'a Model,
    /// What to emit.
    pub options: &'a Options,
    /// The module being emitted.
    pub module: &'a Module,
    /// `::xdrgen_runtime::codegen`, or the configured equivalent.
    pub rt: TokenStream,
    /// Encoded sizes of the model's types, computed once.
    pub sizes: &'a shape::Sizes<'a>,
    /// How `string<N>` is held in the declarations being emitted.
    pub strings: StringMode,
    /// The structs and unions whose decoders are marked `#[inline]`
    /// ([`shape::inlined_decoders`]).
    pub inlined: &'a HashSet<String>,
}

/// `<runtime_path>::codegen`, and a `compile_error!` when the configured path is not a path.
fn runtime_path(path: &str) -> (TokenStream, TokenStream) {
    match syn::parse_str::<syn::Path>(path) {
        Ok(p) => (quote!(#p::codegen), TokenStream::new()),
        Err(_) => {
            let msg = format!("xdrgen: runtime path `{path}` is not a Rust path");
            (
                quote!(::xdrgen_runtime::codegen),
                quote!(::core::compile_error!(#msg);),
            )
        }
    }
}

/// Types per thread below which the output is emitted on one thread.
const TYPES_PER_THREAD: usize = 100;

/// Types per piece of work: small pieces, taken in turn, keep the threads evenly loaded.
const TYPES_PER_JOB: usize = 25;

/// A piece of the output, emitted and formatted on its own: each `.x` file's module is its
/// head, its constants, runs of its types, its programs and its closing brace.
#[derive(Clone, Copy)]
enum Job<'m> {
    /// `pub mod name {` and the module's inner docs and attributes.
    Head(&'m Module),
    /// The constants and text constants.
    Consts(&'m Module),
    /// A run of types: declarations, codecs, random values.
    Types(&'m Module, &'m [crate::model::TypeDef]),
    /// The programs: procedure tables, clients, servers.
    Programs(&'m Module),
    /// The module's closing brace.
    End(&'m Module),
}

/// A module's jobs, in the order of their text.
fn module_jobs(module: &Module) -> impl Iterator<Item = Job<'_>> {
    [Job::Head(module), Job::Consts(module)]
        .into_iter()
        .chain(
            module
                .types
                .chunks(TYPES_PER_JOB)
                .map(move |defs| Job::Types(module, defs)),
        )
        .chain([Job::Programs(module), Job::End(module)])
}

/// What every thread's emitter shares.
#[derive(Clone, Copy)]
struct Shared<'a> {
    model: &'a Model,
    options: &'a Options,
    /// [`shape::inlined_decoders`], computed once.
    inlined: &'a HashSet<String>,
}

/// The jobs' texts, in job order, emitted and formatted on `threads` threads (at least one):
/// formatting is most of the generator's time. Each thread takes the next job not taken yet,
/// programs first (a module's client and server are its largest job), so the threads finish
/// together; the texts are the same as one thread's.
fn run_jobs(shared: &Shared<'_>, jobs: &[Job<'_>], threads: usize) -> Vec<String> {
    let threads = threads.clamp(1, jobs.len().max(1));
    if threads == 1 {
        let mut emitter = Emitter::new(shared);
        return jobs.iter().map(|job| emitter.job(*job)).collect();
    }
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| !matches!(jobs[i], Job::Programs(_)));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (order, next) = (&order, &next);
    let mut texts: Vec<(usize, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    // Token streams are not `Send`: each thread has its own runtime path and
                    // size cache.
                    let mut emitter = Emitter::new(shared);
                    std::iter::from_fn(|| {
                        let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let i = *order.get(at)?;
                        Some((i, emitter.job(jobs[i])))
                    })
                    .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    texts.sort_unstable_by_key(|(i, _)| *i);
    texts.into_iter().map(|(_, text)| text).collect()
}

/// One thread's emitter: what its jobs' contexts share.
struct Emitter<'a> {
    shared: Shared<'a>,
    rt: TokenStream,
    sizes: shape::Sizes<'a>,
}

impl<'a> Emitter<'a> {
    fn new(shared: &Shared<'a>) -> Self {
        Emitter {
            shared: *shared,
            rt: runtime_path(&shared.options.runtime_path).0,
            sizes: shape::Sizes::new(shared.model),
        }
    }

    /// One job's text, its items spaced ([`space_items`]).
    fn job(&mut self, job: Job<'_>) -> String {
        let (Job::Head(module)
        | Job::Consts(module)
        | Job::Types(module, _)
        | Job::Programs(module)
        | Job::End(module)) = job;
        let cx = Ctx {
            model: self.shared.model,
            options: self.shared.options,
            module,
            rt: self.rt.clone(),
            sizes: &self.sizes,
            strings: self.shared.options.string_mode_in(module, None),
            inlined: self.shared.inlined,
        };
        let mut text = String::new();
        job_into(&mut text, &cx, job);
        space_items(&text)
    }
}

/// One job's text, formatted, appended to `out`.
fn job_into(out: &mut String, cx: &Ctx<'_>, job: Job<'_>) {
    let name = ident(&cx.module.name);
    let open = format!("pub mod {name} {{\n");
    match job {
        Job::Head(_) => head_into(out, cx),
        Job::End(_) => out.push_str("}\n"),
        Job::Consts(_) => {
            let consts = cx.module.consts.iter().map(types::const_item);
            let texts = cx.module.texts.iter().map(types::text_item);
            format_in_module(out, &name, &open, quote!(#(#consts)* #(#texts)*));
        }
        Job::Types(_, defs) => {
            for def in defs {
                let cx = &Ctx {
                    rt: cx.rt.clone(),
                    strings: cx.options.string_mode_in(cx.module, Some(&def.xdr_name)),
                    ..*cx
                };
                let ty = types::type_items(cx, def);
                let codec = if cx.options.codecs {
                    codec::codec_items(cx, def)
                } else {
                    TokenStream::new()
                };
                let random = random::random_items(cx, def);
                format_in_module(out, &name, &open, quote!(#ty #codec #random));
            }
        }
        Job::Programs(_) => {
            for program in &cx.module.programs {
                let items = program_items(cx.options);
                let tables = items.tables.then(|| procs::program_tables(cx, program));
                let onc = program.style == ProgramStyle::OncRpc;
                let client = items.client.then(|| match onc {
                    true => onc_client::client_items(cx, program),
                    false => client::client_items(cx, program),
                });
                let server = items.server.then(|| match onc {
                    true => onc_server::server_items(cx, program),
                    false => server::server_items(cx, program),
                });
                format_in_module(out, &name, &open, quote!(#tables #client #server));
            }
        }
    }
}

/// A `.x` file's module line and inner attributes, formatted: its items follow, and
/// [`Job::End`] closes it.
fn head_into(out: &mut String, cx: &Ctx<'_>) {
    let name = ident(&cx.module.name);
    let file = cx.module.path.file_name().map_or_else(
        || cx.module.path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let doc = format!(" Generated from `{file}`.");
    let mut head = String::new();
    format_into(
        &mut head,
        quote! {
            pub mod #name {
                #![doc = #doc]
                // Unions mirror the `.x` arms (boxing large arms would change the API), and a
                // `default:` arm matches the other labels as written in the `.x` file, not as
                // ranges.
                #![allow(clippy::large_enum_variant, clippy::manual_range_patterns)]
            }
        },
    );
    out.push_str(head.trim_end().strip_suffix('}').unwrap_or(&head));
}
