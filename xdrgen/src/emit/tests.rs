//! Emitter tests: token-level type mapping, and snapshots of whole generated modules.

use quote::quote;

use super::test_models::{self, lit, named, sized};
use super::*;
use crate::model::{Size, Type};

/// No decoders inlined: the token-level tests below look at one type at a time.
static NONE_INLINED: std::sync::LazyLock<std::collections::HashSet<String>> =
    std::sync::LazyLock::new(Default::default);

fn cx_for<'a>(
    model: &'a Model,
    options: &'a Options,
    sizes: &'a shape::Sizes<'a>,
    module: usize,
) -> Ctx<'a> {
    Ctx {
        model,
        options,
        module: &model.modules[module],
        rt: quote!(::xdrgen_runtime::codegen),
        sizes,
        strings: options.string_mode_in(&model.modules[module], None),
        inlined: &NONE_INLINED,
    }
}

/// Maps `ty` as seen from module `module` (0 = demo, 1 = other) and renders the tokens.
fn mapped(ty: &Type, module: usize) -> String {
    let model = test_models::model();
    let options = Options::default();
    let sizes = shape::Sizes::new(&model);
    let cx = cx_for(&model, &options, &sizes, module);
    rust_type::rust_type(&cx, ty).to_string()
}

fn tokens(ts: proc_macro2::TokenStream) -> String {
    ts.to_string()
}

#[test]
fn scalars_map_to_rust_primitives() {
    let cases = [
        (Type::Int, quote!(i32)),
        (Type::UnsignedInt, quote!(u32)),
        (Type::Hyper, quote!(i64)),
        (Type::UnsignedHyper, quote!(u64)),
        (Type::Float, quote!(f32)),
        (Type::Double, quote!(f64)),
        (Type::Bool, quote!(bool)),
        (Type::Char, quote!(i8)),
        (Type::UnsignedChar, quote!(u8)),
        (Type::Short, quote!(i16)),
        (Type::UnsignedShort, quote!(u16)),
    ];
    for (ty, want) in cases {
        assert_eq!(mapped(&ty, 0), tokens(want), "{ty:?}");
    }
}

#[test]
fn var_array_of_boxed_optional_named() {
    let ty = Type::VarArray(
        Box::new(Type::Optional {
            inner: Box::new(named("demo", "foo", "Foo")),
            boxed: true,
        }),
        Some(lit(5)),
    );
    assert_eq!(
        mapped(&ty, 0),
        tokens(quote!(
            ::xdrgen_runtime::codegen::VarArray<::core::option::Option<::std::boxed::Box<Foo>>, 5>
        ))
    );
}

#[test]
fn unboxed_optional_and_unbounded_collections() {
    let opt = Type::Optional {
        inner: Box::new(Type::Int),
        boxed: false,
    };
    assert_eq!(mapped(&opt, 0), tokens(quote!(::core::option::Option<i32>)));
    assert_eq!(
        mapped(&Type::VarOpaque(None), 0),
        tokens(quote!(::xdrgen_runtime::codegen::Opaque))
    );
    assert_eq!(
        mapped(&Type::String(None), 0),
        tokens(quote!(::xdrgen_runtime::codegen::XdrString))
    );
    assert_eq!(
        mapped(&Type::VarArray(Box::new(Type::Bool), None), 0),
        tokens(quote!(::xdrgen_runtime::codegen::VarArray<bool>))
    );
}

#[test]
fn sizes_use_their_constant_qualified_across_modules() {
    let s = Type::String(Some(sized(64, "NAME_MAX")));
    assert_eq!(
        mapped(&s, 0),
        tokens(quote!(::xdrgen_runtime::codegen::XdrString<NAME_MAX>))
    );
    assert_eq!(
        mapped(&s, 1),
        tokens(quote!(
            ::xdrgen_runtime::codegen::XdrString<{ super::demo::NAME_MAX }>
        ))
    );
    let fixed = Type::FixedOpaque(sized(16, "UUID_LEN"));
    assert_eq!(mapped(&fixed, 0), tokens(quote!([u8; UUID_LEN as usize])));
    assert_eq!(
        mapped(&fixed, 1),
        tokens(quote!([u8; super::demo::UUID_LEN as usize]))
    );
    // A constant no module emits (e.g. given on the command line) falls back to its value.
    let unknown = Type::FixedArray(
        Box::new(Type::Int),
        Size {
            value: 7,
            name: Some("NOWHERE".into()),
        },
    );
    assert_eq!(mapped(&unknown, 0), tokens(quote!([i32; 7])));
}

#[test]
fn named_types_are_qualified_only_from_other_modules() {
    let color = named("demo", "color", "Color");
    assert_eq!(mapped(&color, 0), tokens(quote!(Color)));
    assert_eq!(mapped(&color, 1), tokens(quote!(super::demo::Color)));
    let ext = Type::Extern {
        xdr_name: "clock_t".into(),
        rust_path: "crate::Clock".into(),
    };
    assert_eq!(mapped(&ext, 0), tokens(quote!(crate::Clock)));
}

#[test]
fn min_element_sizes() {
    let model = test_models::model();
    let sizes = shape::Sizes::new(&model);
    let m = |ty: &Type| sizes.min_size(ty);
    assert_eq!(m(&Type::Int), 4);
    assert_eq!(m(&Type::Hyper), 8);
    assert_eq!(m(&Type::String(None)), 4);
    assert_eq!(m(&Type::FixedOpaque(lit(5))), 8);
    // An empty fixed opaque encodes to nothing (the runtime still bounds a variable count by
    // the bytes left).
    assert_eq!(m(&Type::FixedOpaque(lit(0))), 0);
    // entry: int (4) + string (4) + optional flag (4).
    assert_eq!(m(&named("demo", "entry", "Entry")), 12);
    // value: discriminant + smallest arm (void).
    assert_eq!(m(&named("demo", "value", "Value")), 4);
}

#[test]
fn list_links_are_found_directly_and_through_typedefs() {
    let model = test_models::model();
    let link = |name: &str| {
        model
            .type_def(name)
            .and_then(|d| shape::list_link(&model, d))
    };
    assert_eq!(link("entry"), Some(2));
    assert_eq!(link("chain"), Some(1));
    assert_eq!(link("tree"), None);
    assert_eq!(link("scalars"), None);
}

fn demo_options() -> Options {
    Options {
        type_attributes: vec![
            ("scalars".into(), "#[derive(PartialOrd)]".into()),
            (".".into(), "#[must_use]".into()),
        ],
        random: RandomImpls::Feature("random".into()),
        ..Options::default()
    }
}

#[test]
fn generated_code_parses() {
    for options in [demo_options(), Options::default()] {
        let out = generate(&test_models::model(), &options);
        if let Err(e) = syn::parse_file(&out) {
            panic!("generated code does not parse: {e}\n{out}");
        }
    }
}

#[test]
fn snapshot_all_constructs() {
    insta::assert_snapshot!(generate(&test_models::model(), &demo_options()));
}

#[test]
fn snapshot_without_codecs() {
    let options = Options {
        codecs: false,
        ..Options::default()
    };
    let model = Model {
        modules: vec![test_models::other_module()],
        user_constants: Vec::new(),
    };
    insta::assert_snapshot!(generate(&model, &options));
}

#[test]
fn bad_attribute_and_runtime_path_become_compile_errors() {
    let options = Options {
        runtime_path: "not a path".into(),
        type_attributes: vec![(".".into(), "derive(Hash)".into())],
        ..Options::default()
    };
    let out = generate(&test_models::model(), &options);
    assert!(
        out.contains("runtime path `not a path` is not a Rust path"),
        "{out}"
    );
    assert!(
        out.contains("type attribute `derive(Hash)` is not an attribute"),
        "{out}"
    );
}

/// Options of the compiled fixture `tests/generated/demo.rs`.
fn fixture_options() -> Options {
    Options {
        type_attributes: vec![("scalars".into(), "#[derive(PartialOrd)]".into())],
        random: RandomImpls::Yes,
        ..Options::default()
    }
}

/// `tests/emit_generated.rs` compiles and runs the generated code for the demo models; this keeps
/// that file equal to what the emitter produces now. Run with `XDRGEN_BLESS=1` to rewrite it.
#[test]
fn compiled_fixture_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/generated/demo.rs");
    let want = format!(
        "// @generated by the emitter test `compiled_fixture_is_current`; do not edit.\n{}",
        generate(&test_models::model(), &fixture_options())
    );
    if std::env::var_os("XDRGEN_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, &want).expect("write fixture");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: rerun with XDRGEN_BLESS=1",
        path.display()
    );
}

#[test]
fn types_shared_by_many_fields_are_measured_once() {
    // l{i} holds two l{i-1}: a walk that does not remember sizes visits l0 2^40 times.
    let mut types = vec![test_models::struct_def(
        "l0",
        vec![
            test_models::field("x", "x", Type::Int),
            test_models::field("y", "y", Type::Int),
        ],
    )];
    for i in 1..=40 {
        let inner = named("demo", &format!("l{}", i - 1), &format!("L{}", i - 1));
        types.push(test_models::struct_def(
            &format!("l{i}"),
            vec![
                test_models::field("x", "x", inner.clone()),
                test_models::field("y", "y", inner),
            ],
        ));
    }
    let mut module = test_models::demo_module();
    module.types = types;
    module.consts.clear();
    let model = Model {
        modules: vec![module],
        user_constants: Vec::new(),
    };
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let text = generate(&model, &Options::default());
        let _ = done.send(text);
    });
    let text = finished
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("generation finishes in seconds");
    // l40 is 2^41 ints: a constant length, computed without walking every field.
    assert!(text.contains("8796093022208"), "{text}");
}

/// The output is emitted on several threads; the text must be one thread's.
#[test]
fn module_split_over_threads_reads_as_on_one() {
    let mut x = String::from("const MAX = 8;\nenum color { RED = 0, GREEN = 1 };\n");
    for i in 0..3 * TYPES_PER_JOB {
        x.push_str(&format!(
            "struct s{i} {{ int a; string name<MAX>; color c; s{prev} *link; }};\n",
            prev = i.saturating_sub(1)
        ));
    }
    x.push_str("program P { version V { s7 GET(s3) = 1; } = 1; } = 0x20000001;\n");
    let model = crate::check::tests::model(&x);
    let options = Options {
        client: true,
        server: true,
        ..fixture_options()
    };
    let inlined = shape::inlined_decoders(&model);
    let shared = Shared {
        model: &model,
        options: &options,
        inlined: &inlined,
    };
    let jobs: Vec<Job<'_>> = model.modules.iter().flat_map(module_jobs).collect();
    let text = |threads| run_jobs(&shared, &jobs, threads).concat();
    let one = text(1);
    assert!(one.contains("pub struct S74"), "every type");
    assert!(one.contains("pub const MAX"), "the constants");
    assert!(one.contains("GET"), "the program");
    for threads in [2, 3, 64] {
        assert_eq!(text(threads), one, "{threads} threads");
    }
}

#[test]
fn identifiers_rust_has_no_name_for_get_one() {
    assert_eq!(ident("type").to_string(), "r#type");
    // `r#_` and `r#self` are no identifiers either: a `_` is added.
    assert_eq!(ident("_").to_string(), "__");
    assert_eq!(ident("self").to_string(), "self_");
    assert_eq!(ident("a-b").to_string(), "a_b");
}
