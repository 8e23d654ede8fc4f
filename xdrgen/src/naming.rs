//! Every conversion of a `.x` name into a Rust name happens here.
//!
//! Word splitting and case conversion are [`heck`]'s (it splits `virLXCMonitor` into `vir`, `LXC`,
//! `Monitor` and `callbackID` into `callback`, `ID`); this module adds what generated code needs on
//! top: keyword escaping, names that cannot start with a digit, the shared-prefix stripping of enum
//! variants, and collision detection.

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

/// Every Rust keyword: strict, reserved, and those of editions 2018–2024 (`async`, `await`, `dyn`,
/// `try`, `gen`). Sorted, for binary search.
const KEYWORDS: &[&str] = &[
    "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers (`r#self` is rejected by rustc); they get a `_` suffix.
const NOT_RAW: &[&str] = &["Self", "crate", "self", "super"];

/// True when `name` is a Rust keyword in any edition.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.binary_search(&name).is_ok()
}

/// True when `name` can follow `r#`: not `self`, `super`, `crate`, `Self` or `_`.
pub fn can_be_raw(name: &str) -> bool {
    name != "_" && !NOT_RAW.contains(&name)
}

/// Makes a converted name a valid identifier: keywords escaped (`r#type`, `self_`), a leading
/// digit prefixed with `prefix`, an empty name (or `_`, which is no name in Rust) replaced by
/// `prefix`, or by `__` when `prefix` is `_`.
fn escape(name: String, prefix: &str) -> String {
    if name.is_empty() || name == "_" {
        return match prefix {
            "_" => "__".to_string(),
            _ => prefix.to_string(),
        };
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("{prefix}{name}");
    }
    if NOT_RAW.contains(&name.as_str()) {
        return format!("{name}_");
    }
    if is_keyword(&name) {
        return format!("r#{name}");
    }
    name
}

/// A type name: `remote_domain_get_info_args` → `RemoteDomainGetInfoArgs`,
/// `virLXCMonitorExitEventMsg` → `VirLxcMonitorExitEventMsg`.
pub fn type_name(xdr: &str) -> String {
    escape(xdr.to_upper_camel_case(), "T")
}

/// A struct field, union arm or local name: `callbackID` → `callback_id`, `type` → `r#type`,
/// `self` → `self_`.
pub fn field_name(xdr: &str) -> String {
    escape(xdr.to_snake_case(), "_")
}

/// A constant: `remote_string_max` → `REMOTE_STRING_MAX`.
pub fn const_name(xdr: &str) -> String {
    escape(xdr.to_shouty_snake_case(), "_")
}

/// A module name from a file name or path: `remote_protocol.x` → `remote_protocol`.
pub fn module_name(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let stem = base.strip_suffix(".x").unwrap_or(base);
    escape(stem.to_snake_case(), "m")
}

/// A procedure's method name: everything through the first `_PROC_` is dropped, the rest is
/// snake_case (`REMOTE_PROC_DOMAIN_GET_INFO` → `domain_get_info`). Names without `_PROC_`
/// (`NFSPROC_NULL`) are converted whole.
pub fn method_name(xdr: &str) -> String {
    let rest = match xdr.find("_PROC_") {
        Some(i) if i + 6 < xdr.len() => &xdr[i + 6..],
        _ => xdr,
    };
    field_name(rest)
}

/// A program's base name for generated items: the `_PROGRAM`/`_PROG` suffix dropped, then
/// UpperCamelCase (`REMOTE_PROGRAM` → `Remote`, `NFS_PROGRAM` → `Nfs`).
pub fn program_name(xdr: &str) -> String {
    let base = ["_PROGRAM", "_PROG", "PROGRAM", "PROG"]
        .iter()
        .find_map(|s| xdr.strip_suffix(s).filter(|b| !b.is_empty()))
        .unwrap_or(xdr);
    type_name(base)
}

/// The static holding a program version's procedure table: a libvirt-style program's `.x` name
/// plus `_INFO` (`REMOTE_PROGRAM` → `REMOTE_PROGRAM_INFO`), or for an RFC 5531 `program` block
/// the program's and the version's names (`NFS_PROGRAM`, `NFS_V3` → `NFS_PROGRAM_NFS_V3_INFO`).
pub fn program_info_name(program: &str, version: Option<&str>) -> String {
    match version {
        Some(version) => const_name(&format!("{program}_{version}_INFO")),
        None => const_name(&format!("{program}_INFO")),
    }
}

/// The base name of the generated items of one version of an RFC 5531 `program` block: the
/// version's name in UpperCamelCase (`NFS_V3` → `NfsV3`, giving `NfsV3Client`, `NfsV3Server`
/// and `NfsV3Dispatcher`).
pub fn version_name(xdr: &str) -> String {
    type_name(xdr)
}

/// A program's client struct, from its base name ([`program_name`]): `Remote` → `RemoteClient`.
pub fn client_name(program: &str) -> String {
    format!("{program}Client")
}

/// A program's event enum, from its base name ([`program_name`]): `Remote` → `RemoteEvent`.
pub fn event_enum_name(program: &str) -> String {
    format!("{program}Event")
}

/// A program's server trait, from its base name ([`program_name`]): `Remote` → `RemoteServer`.
pub fn server_trait_name(program: &str) -> String {
    format!("{program}Server")
}

/// A program's dispatcher, from its base name ([`program_name`]): `Remote` →
/// `RemoteDispatcher`.
pub fn dispatcher_name(program: &str) -> String {
    format!("{program}Dispatcher")
}

/// Names a generated client has of its own, which a procedure's method must not take.
const CLIENT_OWN: &[&str] = &["connection", "events", "new", "with_timeout"];

/// A procedure's method name on a client: its [`method_name`], with a `_` suffix when the client
/// already has a method of that name (`X_PROC_NEW` → `new_`; a converted name never ends in `_`,
/// so the suffixed one cannot clash with another procedure's).
pub fn client_method_name(method: &str) -> String {
    if CLIENT_OWN.contains(&method) {
        format!("{method}_")
    } else {
        method.to_string()
    }
}

/// A procedure's method name in a server trait: its [`method_name`], with a `_` suffix for `new`
/// (a trait method called `new` that takes `&self` reads as a constructor; lock_protocol.x has
/// `VIR_LOCK_SPACE_PROTOCOL_PROC_NEW`).
pub fn server_method_name(method: &str) -> String {
    if method == "new" {
        format!("{method}_")
    } else {
        method.to_string()
    }
}

/// Enum variant names: the `_`-separated words shared by ALL members are dropped, then each rest
/// is UpperCamelCase (`VIR_NET_CALL`, `VIR_NET_REPLY` → `Call`, `Reply`). Every member keeps at
/// least one word; when a rest would start with a digit, one more shared word is kept, and with
/// none left to keep, `V` is prepended.
pub fn variant_names(members: &[&str]) -> Vec<String> {
    let words: Vec<Vec<&str>> = members.iter().map(|m| m.split('_').collect()).collect();
    let mut shared = match words.first() {
        Some(first) => {
            let max = words.iter().map(|w| w.len() - 1).min().unwrap_or(0);
            (0..max)
                .take_while(|&i| words.iter().all(|w| w[i] == first[i]))
                .count()
        }
        None => 0,
    };
    let rest = |shared: usize, w: &Vec<&str>| w[shared..].join("_").to_upper_camel_case();
    while shared > 0
        && words
            .iter()
            .any(|w| !rest(shared, w).starts_with(|c: char| c.is_ascii_alphabetic()))
    {
        shared -= 1;
    }
    words.iter().map(|w| escape(rest(shared, w), "V")).collect()
}

/// The variant of an open enum that holds a value no member has: `Unknown`, or `UnknownValue`
/// (then `UnknownValue_`, ...) when a member already takes that name (`FOO_UNKNOWN` is common).
pub fn open_enum_other_variant(variants: &[&str]) -> String {
    let mut name = String::from("Unknown");
    if variants.contains(&name.as_str()) {
        name.push_str("Value");
    }
    while variants.contains(&name.as_str()) {
        name.push('_');
    }
    name
}

/// The variant that holds a union's `default:` arm; emitters write it as `Default`.
pub const DEFAULT_ARM: &str = "Default";

/// A union case's variant name in a union that has (`has_default`) or lacks a `default:` arm:
/// a case that would take the default arm's name [`DEFAULT_ARM`] gets a `_` suffix, as
/// keywords do (`E_DEFAULT` → `Default_`).
pub fn union_case_name(name: String, has_default: bool) -> String {
    if has_default && name == DEFAULT_ARM {
        format!("{name}_")
    } else {
        name
    }
}

/// Finds names that map to the same Rust name in one scope: `(xdr_name, rust_name)` pairs in
/// source order → `(first index, later index)` for each clash with an earlier distinct `.x` name.
pub fn collisions<S: AsRef<str>>(names: &[(S, S)]) -> Vec<(usize, usize)> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (i, (xdr, rust)) in names.iter().enumerate() {
        match seen.get(rust.as_ref()) {
            Some(&first) if names[first].0.as_ref() != xdr.as_ref() => out.push((first, i)),
            Some(_) => {}
            None => {
                seen.insert(rust.as_ref(), i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_table_is_sorted_and_complete() {
        let mut sorted = KEYWORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, KEYWORDS);
        for k in [
            "async", "await", "dyn", "try", "gen", "type", "yield", "macro", "Self",
        ] {
            assert!(is_keyword(k), "{k}");
        }
        assert!(
            !is_keyword("union"),
            "union is a weak keyword, valid as an identifier"
        );
    }

    #[test]
    fn type_names() {
        assert_eq!(
            type_name("remote_domain_get_info_args"),
            "RemoteDomainGetInfoArgs"
        );
        assert_eq!(type_name("virNetMessageHeader"), "VirNetMessageHeader");
        assert_eq!(
            type_name("virLXCMonitorExitEventMsg"),
            "VirLxcMonitorExitEventMsg"
        );
        assert_eq!(type_name("nfs_fh3"), "NfsFh3");
        assert_eq!(type_name("Self"), "Self_");
        assert_eq!(type_name("3d_point"), "T3dPoint");
    }

    #[test]
    fn field_names() {
        assert_eq!(field_name("callbackID"), "callback_id");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(field_name("async"), "r#async");
        assert_eq!(field_name("self"), "self_");
        assert_eq!(field_name("super"), "super_");
        assert_eq!(field_name("crate"), "crate_");
        assert_eq!(field_name("Self"), "self_");
        assert_eq!(field_name("2nd"), "_2nd");
        // `_` alone (or nothing left after case conversion) is no name in Rust.
        assert_eq!(field_name("_"), "__");
        assert_eq!(field_name("__"), "__");
        assert_eq!(const_name("_"), "__");
        assert_eq!(type_name("_"), "T");
        assert_eq!(field_name("nparams"), "nparams");
        assert_eq!(field_name("cookieIn"), "cookie_in");
    }

    #[test]
    fn const_names() {
        assert_eq!(const_name("REMOTE_STRING_MAX"), "REMOTE_STRING_MAX");
        assert_eq!(const_name("maxNameLen"), "MAX_NAME_LEN");
        assert_eq!(const_name("1ST"), "_1ST");
    }

    #[test]
    fn module_names() {
        assert_eq!(module_name("remote_protocol.x"), "remote_protocol");
        assert_eq!(
            module_name("dir/virkeepaliveprotocol.x"),
            "virkeepaliveprotocol"
        );
        assert_eq!(module_name("lxc-monitor.x"), "lxc_monitor");
        assert_eq!(module_name("mod.x"), "r#mod");
        assert_eq!(module_name("9p.x"), "m9p");
    }

    #[test]
    fn method_names() {
        assert_eq!(
            method_name("REMOTE_PROC_DOMAIN_GET_INFO"),
            "domain_get_info"
        );
        assert_eq!(method_name("VIR_LXC_MONITOR_PROC_EXIT_EVENT"), "exit_event");
        assert_eq!(method_name("NFSPROC_NULL"), "nfsproc_null");
        assert_eq!(method_name("X_PROC_TYPE"), "r#type");
    }

    #[test]
    fn program_names() {
        assert_eq!(program_name("REMOTE_PROGRAM"), "Remote");
        assert_eq!(program_name("NFS_PROGRAM"), "Nfs");
        assert_eq!(program_name("MOUNTPROG"), "Mount");
        assert_eq!(program_name("PROGRAM"), "Program");
    }

    #[test]
    fn generated_item_names() {
        assert_eq!(
            program_info_name("REMOTE_PROGRAM", None),
            "REMOTE_PROGRAM_INFO"
        );
        assert_eq!(
            program_info_name("NFS_PROGRAM", Some("NFS_V3")),
            "NFS_PROGRAM_NFS_V3_INFO"
        );
        assert_eq!(
            program_info_name("pingProg", Some("pingVers")),
            "PING_PROG_PING_VERS_INFO"
        );
        assert_eq!(client_name("Remote"), "RemoteClient");
        assert_eq!(event_enum_name("VirLxcMonitor"), "VirLxcMonitorEvent");
        assert_eq!(client_method_name("domain_get_info"), "domain_get_info");
        assert_eq!(client_method_name("new"), "new_");
        assert_eq!(server_method_name("new"), "new_");
        assert_eq!(server_method_name("events"), "events");
        assert_eq!(client_method_name("r#type"), "r#type");
    }

    #[test]
    fn open_enums_hold_other_values_in_a_free_variant() {
        assert_eq!(open_enum_other_variant(&["Ok", "Failed"]), "Unknown");
        assert_eq!(
            open_enum_other_variant(&["Unknown", "Running"]),
            "UnknownValue"
        );
        assert_eq!(
            open_enum_other_variant(&["Unknown", "UnknownValue"]),
            "UnknownValue_"
        );
    }

    #[test]
    fn variant_names_strip_the_shared_prefix() {
        assert_eq!(
            variant_names(&["VIR_NET_CALL", "VIR_NET_REPLY", "VIR_NET_CALL_WITH_FDS"]),
            ["Call", "Reply", "CallWithFds"]
        );
        assert_eq!(
            variant_names(&[
                "REMOTE_PROC_CONNECT_OPEN",
                "REMOTE_PROC_CONNECT_CLOSE",
                "REMOTE_PROC_DOMAIN_GET_INFO"
            ]),
            ["ConnectOpen", "ConnectClose", "DomainGetInfo"]
        );
        // One member keeps its last word; a member equal to the prefix keeps a word too.
        assert_eq!(variant_names(&["KEEPALIVE_PROC_PING"]), ["Ping"]);
        assert_eq!(variant_names(&["A_B", "A_B_C"]), ["B", "BC"]);
    }

    #[test]
    fn variant_names_never_start_with_a_digit() {
        assert_eq!(variant_names(&["MODE_1", "MODE_2"]), ["Mode1", "Mode2"]);
        assert_eq!(variant_names(&["1A", "2B"]), ["V1a", "V2b"]);
        assert_eq!(variant_names(&["Self"]), ["Self_"]);
        assert!(variant_names(&[]).is_empty());
    }

    #[test]
    fn collisions_name_both() {
        let names = [("foo_bar", "FooBar"), ("x", "X"), ("fooBar", "FooBar")];
        assert_eq!(collisions(&names), [(0, 2)]);
        assert!(collisions(&[("a", "A"), ("a", "A")]).is_empty());
    }
}
