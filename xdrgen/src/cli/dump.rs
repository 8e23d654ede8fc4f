//! Text views of a model: the one-line summary of `check` and the listing of `dump`.

use std::fmt::Write;

use xdrgen::model::{
    Annotations, Model, Procedure, Program, ProgramStyle, Size, Type, TypeDef, TypeKind,
};

/// `3 files, 412 constants, 900 types (700 structs, 80 enums, 20 unions, 100 typedefs),
/// 3 programs, 480 procedures`.
pub fn summary(model: &Model) -> String {
    let types: Vec<&TypeDef> = model.modules.iter().flat_map(|m| &m.types).collect();
    let count = |f: fn(&TypeKind) -> bool| types.iter().filter(|t| f(&t.kind)).count();
    let programs: Vec<&Program> = model.modules.iter().flat_map(|m| &m.programs).collect();
    let procedures: usize = programs
        .iter()
        .flat_map(|p| &p.versions)
        .map(|v| v.procedures.len())
        .sum();
    let consts: usize =
        model.modules.iter().map(|m| m.consts.len()).sum::<usize>() + model.user_constants.len();
    format!(
        "{} files, {consts} constants, {} types ({} structs, {} enums, {} unions, {} typedefs), \
         {} programs, {procedures} procedures",
        model.modules.len(),
        types.len(),
        count(|k| matches!(k, TypeKind::Struct(_))),
        count(|k| matches!(k, TypeKind::Enum(_))),
        count(|k| matches!(k, TypeKind::Union(_))),
        count(|k| matches!(k, TypeKind::Alias(_))),
        programs.len(),
    )
}

/// One line per constant, type, member, field, case and procedure.
pub fn listing(model: &Model) -> String {
    let mut out = String::new();
    for c in &model.user_constants {
        let _ = writeln!(
            out,
            "user const {} = {} ({})",
            c.xdr_name, c.value, c.rust_name
        );
    }
    for m in &model.modules {
        let _ = writeln!(out, "module {} ({})", m.name, m.path.display());
        for c in &m.consts {
            let _ = writeln!(
                out,
                "  const {} = {} ({})",
                c.xdr_name, c.value, c.rust_name
            );
        }
        for t in &m.types {
            type_def(&mut out, t);
        }
        for p in &m.programs {
            program(&mut out, p);
        }
    }
    out
}

/// A type and its parts.
fn type_def(out: &mut String, t: &TypeDef) {
    let rec = if t.recursive { " recursive" } else { "" };
    let head = |kw: &str| format!("  {kw} {} ({}){rec}", t.xdr_name, t.rust_name);
    match &t.kind {
        TypeKind::Alias(ty) => {
            let _ = writeln!(out, "{} = {}", head("typedef"), type_text(ty));
        }
        TypeKind::Enum(e) => {
            let _ = writeln!(out, "{}", head("enum"));
            for m in &e.members {
                let _ = writeln!(out, "    {} = {} ({})", m.xdr_name, m.value, m.rust_name);
            }
        }
        TypeKind::Struct(s) => {
            let _ = writeln!(out, "{}", head("struct"));
            for f in &s.fields {
                let _ = writeln!(
                    out,
                    "    {}: {} ({})",
                    f.xdr_name,
                    type_text(&f.ty),
                    f.rust_name
                );
            }
        }
        TypeKind::Union(u) => {
            let _ = writeln!(
                out,
                "{} switch ({} {})",
                head("union"),
                type_text(&u.discriminant),
                u.discriminant_name
            );
            for c in &u.cases {
                let label = c.label.clone().unwrap_or_else(|| c.value.to_string());
                let arm = c.field.as_ref().map_or("void".to_string(), |f| {
                    format!("{}: {}", f.xdr_name, type_text(&f.ty))
                });
                let _ = writeln!(
                    out,
                    "    case {label} = {} ({}): {arm}",
                    c.value, c.rust_name
                );
            }
            match &u.default {
                Some(Some(f)) => {
                    let _ = writeln!(out, "    default: {}: {}", f.xdr_name, type_text(&f.ty));
                }
                Some(None) => {
                    let _ = writeln!(out, "    default: void");
                }
                None => {}
            }
        }
    }
}

/// A program, its versions and procedures.
fn program(out: &mut String, p: &Program) {
    let style = match p.style {
        ProgramStyle::OncRpc => "onc-rpc",
        ProgramStyle::Libvirt => "libvirt",
    };
    let _ = writeln!(
        out,
        "  program {} ({}) = {:#x} [{style}]",
        p.xdr_name, p.rust_name, p.number
    );
    for v in &p.versions {
        let _ = writeln!(out, "    version {} = {}", v.xdr_name, v.number);
        for proc in &v.procedures {
            procedure(out, proc);
        }
    }
}

/// `N NAME method/Variant (args) -> result [msg] {annotations}`.
fn procedure(out: &mut String, p: &Procedure) {
    let args: Vec<String> = p.args.iter().map(type_text).collect();
    let result = p.result.as_ref().map_or("void".to_string(), type_text);
    let _ = write!(
        out,
        "      {} {} {}/{} ({}) -> {result}",
        p.number,
        p.xdr_name,
        p.method_name,
        p.variant_name,
        args.join(", ")
    );
    if let Some(m) = &p.message {
        let _ = write!(out, " message {}", type_text(m));
    }
    let notes = annotations(&p.annotations);
    if !notes.is_empty() {
        let _ = write!(out, " [{notes}]");
    }
    out.push('\n');
}

/// Annotations as `key=value` words.
fn annotations(a: &Annotations) -> String {
    let mut words = Vec::new();
    if let Some(g) = a.generate {
        words.push(format!("generate={g:?}").to_lowercase());
    }
    if a.high_priority {
        words.push("priority=high".into());
    }
    words.extend(a.acl.iter().map(|x| format!("acl={x}")));
    words.extend(a.aclfilter.iter().map(|x| format!("aclfilter={x}")));
    words.extend(a.readstream.map(|n| format!("readstream={n}")));
    words.extend(a.writestream.map(|n| format!("writestream={n}")));
    words.extend(a.sparseflag.iter().map(|x| format!("sparseflag={x}")));
    words.extend(a.other.iter().map(|(k, v)| format!("{k}={v}")));
    words.join(" ")
}

/// A type in `.x`-like notation with resolved sizes: `opaque[16 VIR_UUID_BUFLEN]`, `*node boxed`.
pub fn type_text(t: &Type) -> String {
    match t {
        Type::Named(r) => format!("{}::{}", r.module, r.xdr_name),
        Type::Extern {
            xdr_name,
            rust_path,
        } => format!("extern {xdr_name} = {rust_path}"),
        Type::FixedOpaque(n) => format!("opaque[{}]", size(n)),
        Type::VarOpaque(n) => format!("opaque<{}>", bound(n)),
        Type::String(n) => format!("string<{}>", bound(n)),
        Type::FixedArray(inner, n) => format!("{}[{}]", type_text(inner), size(n)),
        Type::VarArray(inner, n) => format!("{}<{}>", type_text(inner), bound(n)),
        Type::Optional { inner, boxed } => {
            format!(
                "*{}{}",
                type_text(inner),
                if *boxed { " boxed" } else { "" }
            )
        }
        scalar => scalar.scalar_name().unwrap_or_default().into(),
    }
}

/// `16` or `16 VIR_UUID_BUFLEN`.
fn size(s: &Size) -> String {
    match &s.name {
        Some(n) => format!("{} {n}", s.value),
        None => s.value.to_string(),
    }
}

/// A variable bound; empty for `<>`.
fn bound(s: &Option<Size>) -> String {
    s.as_ref().map_or_else(String::new, size)
}
