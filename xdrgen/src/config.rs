//! [`Config`]: the builder that `build.rs` scripts and the CLI drive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::emit::{self, RandomImpls, StringMode};
use crate::source::SourceMap;
use crate::{check, Error};

/// Configures and runs code generation, in the manner of `prost_build::Config`.
///
/// # Examples
///
/// In `build.rs`:
///
/// ```no_run
/// xdrgen::Config::new()
///     .file("proto/demo.x")
///     .constant("DEMO_MAX", 64)
///     .type_attribute("demo_point", "#[derive(PartialOrd)]")
///     .compile()
///     .unwrap();
/// ```
///
/// and in the crate:
///
/// ```ignore
/// include!(concat!(env!("OUT_DIR"), "/demo.rs"));
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    files: Vec<PathBuf>,
    check: check::Options,
    emit: emit::Options,
    out_dir: Option<PathBuf>,
    output_name: Option<String>,
    cargo_messages: bool,
}

impl Default for Config {
    /// The same as [`Config::new`].
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// A configuration with no files, the runtime at `::xdrgen_runtime`, and `cargo:` messages on.
    pub fn new() -> Self {
        Config {
            files: Vec::new(),
            check: check::Options::default(),
            emit: emit::Options::default(),
            out_dir: None,
            output_name: None,
            cargo_messages: true,
        }
    }

    /// Adds an input `.x` file. Files added to one `Config` share one namespace, as libvirt's
    /// `qemu_protocol.x` uses types of `remote_protocol.x`.
    pub fn file(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds several input files.
    pub fn files<P: AsRef<Path>>(&mut self, paths: impl IntoIterator<Item = P>) -> &mut Self {
        for p in paths {
            self.file(p);
        }
        self
    }

    /// Defines a constant the `.x` files use but do not define (libvirt's `VIR_UUID_BUFLEN`
    /// comes from a C header).
    ///
    /// It belongs to no file, so it is emitted at the top of the output, beside the modules
    /// (`protocols::VIR_UUID_BUFLEN`), whatever the order of the files; the modules refer to it
    /// as `super::VIR_UUID_BUFLEN`. Only the constants the files use are emitted. A `.x` file
    /// that defines the same name wins, with a warning.
    ///
    /// ```
    /// let mut config = xdrgen::Config::new();
    /// config.constant("VIR_UUID_BUFLEN", 16).constant("VIR_TYPED_PARAM_INT", 1);
    /// ```
    pub fn constant(&mut self, name: impl Into<String>, value: i128) -> &mut Self {
        self.check.constants.insert(name.into(), value);
        self
    }

    /// Defines several constants at once.
    pub fn constants(&mut self, constants: &BTreeMap<String, i128>) -> &mut Self {
        self.check
            .constants
            .extend(constants.iter().map(|(k, v)| (k.clone(), *v)));
        self
    }

    /// Maps a type that the `.x` files use but do not define (one defined in C by `%` lines) to a
    /// Rust path implementing the runtime's `Encode` and `Decode`, like prost-build's
    /// `extern_path`. A hand-written codec refuses a value with
    /// `xdrgen_runtime::xdr::Error::custom("why")` (`ErrorKind::Custom`); the generated code
    /// around it adds the field path.
    pub fn extern_type(
        &mut self,
        xdr_name: impl Into<String>,
        rust_path: impl Into<String>,
    ) -> &mut Self {
        self.check
            .extern_types
            .insert(xdr_name.into(), rust_path.into());
        self
    }

    /// Adds an attribute to a generated type, by `.x` name, or to every type with `"."`.
    ///
    /// ```
    /// let mut config = xdrgen::Config::new();
    /// // Generated types already derive Debug, Clone, PartialEq (and Eq, Hash without floats).
    /// config.type_attribute(".", "#[derive(PartialOrd)]");
    /// ```
    pub fn type_attribute(
        &mut self,
        xdr_name: impl Into<String>,
        attribute: impl Into<String>,
    ) -> &mut Self {
        self.emit
            .type_attributes
            .push((xdr_name.into(), attribute.into()));
        self
    }

    /// Sets the path generated code uses for the runtime crate (default `::xdrgen_runtime`), for
    /// crates that re-export it.
    pub fn runtime_path(&mut self, path: impl Into<String>) -> &mut Self {
        self.emit.runtime_path = path.into();
        self
    }

    /// Whether to emit `Encode`/`Decode` impls (default true); without them only types and
    /// constants are emitted.
    pub fn codecs(&mut self, enabled: bool) -> &mut Self {
        self.emit.codecs = enabled;
        self
    }

    /// Whether to emit a procedure table per program version (default true): a
    /// `pub static …_INFO: ProgramInfo` (`REMOTE_PROGRAM_INFO` for libvirt's remote program,
    /// `<PROGRAM>_<VERSION>_INFO` for an RFC 5531 `program` block) listing each procedure's
    /// number, payload types and annotations. With `codecs(false)` and `procedure_tables(false)`
    /// only types and constants are emitted. A client still gets the table it uses.
    pub fn procedure_tables(&mut self, enabled: bool) -> &mut Self {
        self.emit.procedure_tables = enabled;
        self
    }

    /// Whether to emit async clients (default false), like tonic-build's `build_client`. Which
    /// RPC protocol a client speaks follows from how its program is written, per program:
    ///
    /// - a libvirt-style program (procedure enum and `*_PROGRAM` constants) gets `RemoteClient`
    ///   with one method per procedure (`domain_get_info`) and `RemoteEvent` for its events,
    ///   calling `xdrgen_runtime`'s `libvirt` module (runtime feature `libvirt`);
    /// - an RFC 5531 `program` block gets one client per version, named after the version
    ///   (`NFS_V3` → `NfsV3Client`), with one method per procedure (several arguments taken in
    ///   order, as rpcgen `-N`), calling the runtime's `onc` module (runtime feature `onc`).
    ///
    /// Both need [`codecs`](Config::codecs). [`build_server`](Config::build_server) emits the
    /// server side.
    ///
    /// ```
    /// let mut config = xdrgen::Config::new();
    /// config.file("proto/demo.x").build_client(true);
    /// ```
    pub fn build_client(&mut self, enabled: bool) -> &mut Self {
        self.emit.client = enabled;
        self
    }

    /// Whether to emit servers (default false), like tonic-build's `build_server`, chosen per
    /// program as for [`build_client`](Config::build_client):
    ///
    /// - a libvirt-style program gets a trait `RemoteServer` with one method per procedure
    ///   (each with a default body answering libvirt's "not supported" error) and
    ///   `RemoteDispatcher<T>`, served by the runtime's `libvirt::server::Server`;
    /// - each version of an RFC 5531 `program` gets a trait (`NfsV3Server`; default bodies
    ///   answer `PROC_UNAVAIL`, a `NULL` procedure 0 succeeds; methods see the caller's
    ///   credentials) and `NfsV3Dispatcher<T>`, served by the runtime's `onc::Server`.
    ///
    /// Both need [`codecs`](Config::codecs) and the matching runtime feature.
    ///
    /// ```
    /// let mut config = xdrgen::Config::new();
    /// config.file("proto/demo.x").build_client(true).build_server(true);
    /// ```
    pub fn build_server(&mut self, enabled: bool) -> &mut Self {
        self.emit.server = enabled;
        self
    }

    /// How every `string<N>` is held (default [`StringMode::Utf8`], `XdrString<N>`), where
    /// [`string_mode_for`](Config::string_mode_for) says nothing.
    ///
    /// [`StringMode::Bytes`] makes them `XdrBytes<N>`, which take any bytes a C peer sends
    /// (`as_str()` returns a `Result`, `to_str_lossy()` never fails).
    ///
    /// ```
    /// let mut config = xdrgen::Config::new();
    /// config.string_mode(xdrgen::StringMode::Bytes);
    /// ```
    pub fn string_mode(&mut self, mode: StringMode) -> &mut Self {
        self.emit.string_mode = mode;
        self
    }

    /// How the strings of one file (`"remote_protocol.x"`, or its path as given) or of one type
    /// (its `.x` name: `"remote_nonnull_string"`) are held. A type's mode wins over its file's,
    /// which wins over [`string_mode`](Config::string_mode). A name that is neither an input
    /// file nor a type is an error when generating.
    ///
    /// A typedef's mode applies wherever the typedef is used; a struct's or union's to the
    /// strings declared in it (an anonymous type nested in it follows its file's mode).
    ///
    /// ```
    /// use xdrgen::StringMode;
    ///
    /// let mut config = xdrgen::Config::new();
    /// config
    ///     .string_mode_for("remote_protocol.x", StringMode::Bytes)
    ///     .string_mode_for("remote_auth_sasl_init_ret", StringMode::Utf8);
    /// ```
    pub fn string_mode_for(&mut self, name: impl Into<String>, mode: StringMode) -> &mut Self {
        self.emit.string_modes.push((name.into(), mode));
        self
    }

    /// Makes every enum open (default false): a value no member has, as a newer peer may send,
    /// decodes to the enum's `Unknown(i32)` variant (`UnknownValue` when a member is called
    /// `Unknown`) and re-encodes unchanged, as C's `xdr_enum` takes any value. A closed enum
    /// refuses such a value (`ErrorKind::UnknownEnumValue`) and converts from `i32` with
    /// `TryFrom`; an open one with `From`, which gives the member when there is one.
    ///
    /// A union over an open enum still refuses a discriminant no case names unless it has a
    /// `default:` arm.
    ///
    /// ```
    /// let mut config = xdrgen::Config::new();
    /// config.open_enums(true);
    /// ```
    pub fn open_enums(&mut self, enabled: bool) -> &mut Self {
        self.emit.open_enums = enabled;
        self
    }

    /// Makes one enum open, by its `.x` name (see [`open_enums`](Config::open_enums)). A name
    /// that is not an enum of the files is an error when generating.
    ///
    /// ```
    /// let mut config = xdrgen::Config::new();
    /// config.open_enum("remote_auth_type").open_enum("nfsstat");
    /// ```
    pub fn open_enum(&mut self, xdr_name: impl Into<String>) -> &mut Self {
        self.emit.open_enum_names.push(xdr_name.into());
        self
    }

    /// Emits `xdrgen_runtime::random::Random` impls for every type, under
    /// `#[cfg(feature = "<feature>")]` when a feature is given. Tests use them to make values.
    pub fn random_impls(&mut self, feature: Option<&str>) -> &mut Self {
        self.emit.random = match feature {
            Some(f) => RandomImpls::Feature(f.to_string()),
            None => RandomImpls::Yes,
        };
        self
    }

    /// The directory to write into (default: the `OUT_DIR` environment variable set by cargo).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The output file's name (default: the first input's stem with `.rs`).
    pub fn output_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.output_name = Some(name.into());
        self
    }

    /// Whether to print `cargo:rerun-if-changed` lines, and warnings about the `.x` files as
    /// `cargo:warning` lines (default true; the CLI turns them off). When off, warnings are
    /// printed to standard error instead.
    pub fn cargo_messages(&mut self, enabled: bool) -> &mut Self {
        self.cargo_messages = enabled;
        self
    }

    /// Runs the front end and the emitter, returning the complete output file's text (with its
    /// `@generated` header) without writing a file. With [`cargo_messages`](Config::cargo_messages)
    /// on (the default) it still prints the `cargo:rerun-if-changed` and `cargo:warning` lines;
    /// otherwise warnings go to stderr.
    pub fn generate(&self) -> Result<String, Error> {
        if self.files.is_empty() {
            return Err(Error::Config("no input .x files were given".into()));
        }
        if self.emit.client && !self.emit.codecs {
            return Err(Error::Config(
                "build_client(true) needs codecs(true): clients encode and decode their payloads"
                    .into(),
            ));
        }
        if self.emit.server && !self.emit.codecs {
            return Err(Error::Config(
                "build_server(true) needs codecs(true): servers decode and encode their payloads"
                    .into(),
            ));
        }
        let loaded = crate::load(&self.files, &self.check);
        if self.cargo_messages {
            // Every file read, named or `#include`d, even when it has errors: fixing it must
            // rerun the build script. Named files are listed even if they could not be read.
            let (Ok(crate::Loaded { sources, .. }) | Err(crate::LoadError { sources, .. })) =
                &loaded;
            for path in self.inputs(sources) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        let crate::Loaded {
            model,
            warnings,
            sources,
        } = loaded.map_err(|e| Error::invalid(e.diagnostics.into_vec(), &e.sources))?;
        if self.cargo_messages {
            // cargo shows one line per `cargo:warning`: the `path:line:col: warning: ...` one.
            for w in warnings.iter() {
                if let Some(line) = w.render(&sources).lines().next() {
                    println!("cargo:warning={line}");
                }
            }
        } else if warnings.iter().next().is_some() {
            eprintln!("{}", warnings.render(&sources));
        }
        // A misspelt enum name would otherwise leave it closed without a word.
        if let Some(name) = self.emit.open_enum_names.iter().find(|name| {
            !matches!(
                model.type_def(name).map(|t| &t.kind),
                Some(crate::model::TypeKind::Enum(_))
            )
        }) {
            return Err(Error::Config(format!(
                "open_enum names `{name}`, but the .x files define no enum of that name"
            )));
        }
        // A misspelt type name would otherwise be ignored without a word.
        if let Some((name, _)) = self
            .emit
            .type_attributes
            .iter()
            .find(|(name, _)| name != "." && model.type_def(name).is_none())
        {
            return Err(Error::Config(format!(
                "type_attribute names `{name}`, but the .x files define no type of that name"
            )));
        }
        // A misspelt file or type name would otherwise leave its strings in the other mode.
        if let Some((name, _)) = self.emit.string_modes.iter().find(|(name, _)| {
            model.type_def(name).is_none()
                && !model.modules.iter().any(|m| {
                    m.path.to_string_lossy() == name.as_str()
                        || m.path
                            .file_name()
                            .is_some_and(|f| f.to_string_lossy() == name.as_str())
                })
        }) {
            return Err(Error::Config(format!(
                "string_mode_for names `{name}`, but it is neither an input file nor a type of the \
                 .x files"
            )));
        }
        if let Some(clash) = emit::name_clashes(&model, &self.emit).into_iter().next() {
            return Err(Error::Config(clash));
        }
        let body = emit::generate(&model, &self.emit);
        Ok(format!("{}{body}", header(&sources)))
    }

    /// Generates and writes the output file, only when its content changed (so cargo does not
    /// rebuild dependents needlessly). Returns the path written.
    pub fn compile(&self) -> Result<PathBuf, Error> {
        let out_dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Error::Config(
                        "OUT_DIR is not set: call Config::out_dir or run from build.rs".into(),
                    )
                })?,
        };
        let name = match &self.output_name {
            Some(n) => n.clone(),
            None => {
                let stem = self
                    .files
                    .first()
                    .and_then(|f| f.file_stem())
                    .map(|s| s.to_string_lossy().into_owned());
                format!("{}.rs", stem.unwrap_or_else(|| "xdr".into()))
            }
        };
        let text = self.generate()?;
        let path = out_dir.join(name);
        write_if_changed(&path, &text)?;
        Ok(path)
    }
}

impl Config {
    /// The named files, then every other file read (the `#include`d ones), each once.
    fn inputs<'a>(&'a self, sources: &'a SourceMap) -> Vec<&'a Path> {
        let mut inputs: Vec<&Path> = Vec::new();
        let read = sources.files().map(|(_, f)| f.path.as_path());
        for path in self.files.iter().map(PathBuf::as_path).chain(read) {
            if !inputs.contains(&path) {
                inputs.push(path);
            }
        }
        inputs
    }
}

/// The `@generated` header naming every input file (with a hash of its content).
fn header(sources: &crate::source::SourceMap) -> String {
    let mut h = String::from("// @generated by xdrgen from:\n");
    for (_, file) in sources.files() {
        let name = file.path.file_name().map_or_else(
            || file.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        h.push_str(&format!(
            "//   {name} (fnv1a64 {:016x})\n",
            fnv1a64(file.text.as_bytes())
        ));
    }
    h.push_str("// Do not edit: regenerate instead.\n\n");
    h
}

/// A small stable content hash for the header (not for security).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `text` to `path` unless the file already holds exactly that.
pub(crate) fn write_if_changed(path: &Path, text: &str) -> Result<(), Error> {
    if std::fs::read(path).ok().as_deref() == Some(text.as_bytes()) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_the_named_files_then_the_included_ones_once() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parse");
        let (includer, included) = (dir.join("includer.x"), dir.join("included.x"));
        for named in [vec![&includer], vec![&includer, &included, &includer]] {
            let mut config = Config::new();
            config.files(named);
            let loaded = crate::load(&config.files, &config.check).unwrap();
            assert_eq!(config.inputs(&loaded.sources), [&includer, &included]);
        }
    }
}
