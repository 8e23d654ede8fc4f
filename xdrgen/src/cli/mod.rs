//! The commands behind `xdrgen`'s command line.

mod dump;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use xdrgen::diagnostic::{Diagnostic, Diagnostics};
use xdrgen::model::Model;
use xdrgen::presets;
use xdrgen::source::SourceMap;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "xdrgen",
    version,
    about = "Rust code from ONC-RPC / XDR .x files"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Check .x files and print a one-line summary (or every error).
    Check(Input),
    /// Print a readable listing of the checked model.
    Dump(Input),
    /// Generate Rust code.
    Generate {
        #[command(flatten)]
        input: Input,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "OUT.rs")]
        output: Option<PathBuf>,
        #[command(flatten)]
        emit: Emit,
    },
}

/// What `generate` emits besides types and codecs.
#[derive(Debug, Args)]
struct Emit {
    /// Also emit async clients: per libvirt-style program one calling xdrgen-runtime's
    /// `libvirt` feature, per version of an RFC 5531 `program` one calling its `onc` feature.
    #[arg(long)]
    client: bool,
    /// Also emit server traits and dispatchers: per libvirt-style program (xdrgen-runtime's
    /// `libvirt` feature), per version of an RFC 5531 `program` (its `onc` feature).
    #[arg(long)]
    server: bool,
    /// Do not emit the procedure tables (`…_INFO: ProgramInfo`) of programs without a client.
    #[arg(long)]
    no_procedure_tables: bool,
    /// Hold every `string<N>` as `XdrBytes<N>` (any bytes, as a C peer may send) instead of
    /// `XdrString<N>` (UTF-8 only).
    #[arg(long)]
    byte_strings: bool,
    /// Hold the strings of this file (`remote_protocol.x`) or type (`remote_nonnull_string`)
    /// as `XdrBytes<N>`; repeatable.
    #[arg(long = "byte-strings-for", value_name = "NAME")]
    byte_strings_for: Vec<String>,
    /// Make every enum open: a value no member has decodes to `Unknown(i32)` and re-encodes
    /// unchanged (as C's `xdr_enum` takes any value) instead of failing.
    #[arg(long)]
    open_enums: bool,
    /// Make this enum open (its `.x` name); repeatable.
    #[arg(long = "open-enum", value_name = "NAME")]
    open_enum: Vec<String>,
}

/// Inputs shared by every subcommand.
#[derive(Debug, Args)]
struct Input {
    /// A constant the files use but do not define (decimal, 0x hex, or negative).
    #[arg(long = "constant", value_name = "NAME=VALUE", value_parser = parse_constant)]
    constants: Vec<(String, i128)>,
    /// A type the files use but leave to C, mapped to a Rust path.
    #[arg(long = "extern-type", value_name = "NAME=PATH", value_parser = parse_extern)]
    extern_types: Vec<(String, String)>,
    /// Add the constants libvirt's .x files take from libvirt's C headers.
    #[arg(long)]
    libvirt: bool,
    /// The .x files, checked as one unit. Default: libvirt's protocol files from
    /// $XDRGEN_LIBVIRT_DIR or ../shared/protocols/libvirt (with --libvirt implied).
    #[arg(value_name = "FILE.x")]
    files: Vec<PathBuf>,
}

/// Runs a command; errors are printed, never panicked.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Check(input) => check(input),
        Command::Dump(input) => dump(input),
        Command::Generate {
            input,
            output,
            emit,
        } => generate(input, output, emit),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// `xdrgen check`.
fn check(input: Input) -> Result<(), String> {
    let model = load(input)?;
    stdout(&format!("ok: {}\n", dump::summary(&model)))
}

/// `xdrgen dump`.
fn dump(input: Input) -> Result<(), String> {
    let model = load(input)?;
    stdout(&dump::listing(&model))
}

/// Writes to stdout; a reader that went away (`xdrgen dump | head`) is not an error.
fn stdout(text: &str) -> Result<(), String> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("error: cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

/// `xdrgen generate`.
fn generate(input: Input, output: Option<PathBuf>, emit: Emit) -> Result<(), String> {
    let (files, options) = resolve(input)?;
    let mut config = xdrgen::Config::new();
    config
        .files(&files)
        .constants(&options.constants)
        .build_client(emit.client)
        .build_server(emit.server)
        .procedure_tables(!emit.no_procedure_tables)
        .cargo_messages(false);
    if emit.byte_strings {
        config.string_mode(xdrgen::StringMode::Bytes);
    }
    for name in &emit.byte_strings_for {
        config.string_mode_for(name, xdrgen::StringMode::Bytes);
    }
    config.open_enums(emit.open_enums);
    for name in &emit.open_enum {
        config.open_enum(name);
    }
    for (name, path) in &options.extern_types {
        config.extern_type(name, path);
    }
    let failed = |e: xdrgen::Error| match e {
        xdrgen::Error::Invalid {
            diagnostics,
            rendered,
        } => with_error_count(&rendered, &diagnostics),
        other => format!("error: {other}"),
    };
    let Some(path) = output else {
        return stdout(&config.generate().map_err(failed)?);
    };
    // Written like build.rs output: parent directories created, unchanged files left alone.
    let name = path
        .file_name()
        .ok_or_else(|| format!("error: -o {} names no file", path.display()))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    config
        .out_dir(dir)
        .output_name(name.to_string_lossy())
        .compile()
        .map(|_| ())
        .map_err(failed)
}

/// Parses and checks; warnings go to stderr, errors become the `Err` text.
fn load(input: Input) -> Result<Model, String> {
    let (files, options) = resolve(input)?;
    match xdrgen::load(&files, &options) {
        Ok(loaded) => {
            print_diagnostics(&loaded.warnings, &loaded.sources);
            Ok(loaded.model)
        }
        Err(e) => Err(with_error_count(&e.render(), e.diagnostics.iter())),
    }
}

/// Rendered diagnostics followed by `error: N errors`.
fn with_error_count<'a>(
    rendered: &str,
    diagnostics: impl IntoIterator<Item = &'a Diagnostic>,
) -> String {
    let n = diagnostics.into_iter().filter(|d| d.is_error()).count();
    format!(
        "{rendered}\nerror: {n} error{}",
        if n == 1 { "" } else { "s" }
    )
}

/// Prints warnings, if any.
fn print_diagnostics(diagnostics: &Diagnostics, sources: &SourceMap) {
    let list: Vec<Diagnostic> = diagnostics.iter().cloned().collect();
    if !list.is_empty() {
        eprintln!("{}", xdrgen::diagnostic::render_all(&list, sources));
    }
}

/// The files and checker options of a command, with the libvirt default when no file is named.
fn resolve(input: Input) -> Result<(Vec<PathBuf>, xdrgen::check::Options), String> {
    let mut options = xdrgen::check::Options::default();
    let mut files = input.files;
    let mut libvirt = input.libvirt;
    if files.is_empty() {
        files = default_libvirt_files()?;
        libvirt = true;
    }
    if libvirt {
        options.constants = xdrgen::presets::libvirt_constants();
    }
    options.constants.extend(input.constants);
    options.extern_types = input.extern_types.into_iter().collect::<BTreeMap<_, _>>();
    Ok((files, options))
}

/// libvirt's `.x` files from `$XDRGEN_LIBVIRT_DIR` or `../shared/protocols/libvirt`, sorted.
fn default_libvirt_files() -> Result<Vec<PathBuf>, String> {
    let dir = presets::libvirt_dir(
        Path::new("..")
            .join("shared")
            .join("protocols")
            .join("libvirt"),
    );
    let files: Vec<PathBuf> = presets::LIBVIRT_FILES.iter().map(|f| dir.join(f)).collect();
    match files.iter().find(|f| !f.is_file()) {
        Some(missing) => Err(format!(
            "error: no .x files given, and libvirt's protocol file {} is missing; name files or set {}",
            missing.display(),
            presets::LIBVIRT_DIR_ENV
        )),
        None => Ok(files),
    }
}

/// Parses `NAME=VALUE` with a decimal, `0x` hex, or negative value.
fn parse_constant(s: &str) -> Result<(String, i128), String> {
    let (name, value) = split_pair(s, "VALUE")?;
    let (negative, unsigned) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    let (radix, digits) = match unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        Some(hex) => (16, hex),
        None => (10, unsigned),
    };
    // `from_str_radix` would take another sign.
    if !digits.starts_with(|c: char| c.is_digit(radix)) {
        return Err(format!("`{value}` is not a number"));
    }
    let magnitude = u128::from_str_radix(digits, radix)
        .map_err(|e| format!("`{value}` is not a number: {e}"))?;
    let parsed = if negative {
        0i128.checked_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).ok()
    };
    let parsed = parsed.ok_or_else(|| format!("`{value}` does not fit in 128 bits"))?;
    Ok((name, parsed))
}

/// Parses `NAME=PATH`.
fn parse_extern(s: &str) -> Result<(String, String), String> {
    let (name, path) = split_pair(s, "RUST_PATH")?;
    if path.is_empty() {
        return Err("the Rust path is empty".into());
    }
    Ok((name, path.to_string()))
}

/// Splits `NAME=REST`, checking the name is an identifier.
fn split_pair<'s>(s: &'s str, what: &str) -> Result<(String, &'s str), String> {
    let (name, rest) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME={what}, got `{s}`"))?;
    let ident = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ident {
        return Err(format!("`{name}` is not an identifier"));
    }
    Ok((name.to_string(), rest.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_accept_decimal_hex_and_negative() {
        assert_eq!(parse_constant("A=16"), Ok(("A".into(), 16)));
        assert_eq!(parse_constant("A=0x10"), Ok(("A".into(), 16)));
        assert_eq!(parse_constant("A=-0X10"), Ok(("A".into(), -16)));
        assert_eq!(parse_constant("A=-3"), Ok(("A".into(), -3)));
        assert!(parse_constant("A").is_err());
        assert!(parse_constant("A=x").is_err());
        assert!(parse_constant("1A=1").is_err());
        // One sign only: a second one once made `-i128::MIN` overflow.
        assert!(parse_constant("A=--170141183460469231731687303715884105728").is_err());
        assert!(parse_constant("A=-+1").is_err());
        assert!(parse_constant("A=+-1").is_err());
        assert_eq!(
            parse_constant("A=-170141183460469231731687303715884105728"),
            Ok(("A".into(), i128::MIN))
        );
        assert!(parse_constant("A=170141183460469231731687303715884105728").is_err());
    }

    #[test]
    fn extern_types_need_a_path() {
        assert_eq!(
            parse_extern("netobj=crate::NetObj"),
            Ok(("netobj".into(), "crate::NetObj".into()))
        );
        assert!(parse_extern("netobj=").is_err());
    }
}
