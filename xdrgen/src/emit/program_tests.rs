//! Emitter tests of what programs add: procedure tables and libvirt-style clients, on the
//! hand-made `rpc` module of [`test_models`].

use super::test_models::{self, struct_def};
use super::*;
use crate::model::{Const, Docs};

/// The demo, other and rpc modules.
fn model() -> Model {
    let mut model = test_models::model();
    model.modules.push(test_models::rpc_module());
    model
}

fn with_client() -> Options {
    Options {
        client: true,
        ..Options::default()
    }
}

/// The generated text with all whitespace removed and trailing commas before `)` dropped, so
/// that tests do not depend on where prettyplease breaks lines.
fn squash(text: &str) -> String {
    let s: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    s.replace(",)", ")")
        .replace(",]", "]")
        .replace(",>", ">")
        .replace(",}", "}")
}

/// The generated module `rpc` (the others do not change with these options).
fn rpc(options: &Options) -> String {
    let text = generate(&model(), options);
    let start = text.find("pub mod rpc {").expect("module rpc");
    text[start..].to_string()
}

/// The text of `pub static <name>` up to the end of its initializer.
fn table<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("pub static {name}:"))
        .unwrap_or_else(|| panic!("no table {name} in:\n{text}"));
    let len = text[start..].find("\n    };").expect("the table ends");
    &text[start..start + len]
}

/// The procedure numbers of a table, in table order.
fn numbers(table: &str) -> Vec<u32> {
    table
        .split("ProcedureInfo::new(")
        .skip(1)
        .map(|rest| {
            let n = rest.split(',').next().expect("a number");
            n.trim().parse().expect("a number")
        })
        .collect()
}

#[test]
fn tables_list_procedures_sorted_by_number() {
    let text = generate(&model(), &Options::default());
    assert_eq!(
        numbers(table(&text, "DEMO_PROGRAM_INFO")),
        [1, 2, 3, 4, 5, 6, 7]
    );
    assert_eq!(numbers(table(&text, "PING_PROG_PING_V1_INFO")), [0]);
    assert_eq!(numbers(table(&text, "PING_PROG_PING_V2_INFO")), [0, 2, 3]);
    let demo = squash(table(&text, "DEMO_PROGRAM_INFO"));
    assert!(
        demo.contains(r#"name:"DEMO_PROGRAM",number:0x44454d4f,version:1,"#),
        "{demo}"
    );
    // An RFC 5531 table imports no `Generate`: it would be unused.
    let v1 = table(&text, "PING_PROG_PING_V1_INFO");
    assert!(!v1.contains("Generate"), "{v1}");
}

#[test]
fn tables_carry_payload_types_and_annotations_in_order() {
    let text = squash(&rpc(&Options::default()));
    for want in [
        r#"ProcedureInfo{args:Some("scalars"),ret:Some("wrapper"),generate:Some(Generate::Both),acl:&["machine:read","machine:save:!DEMO_F_LIVE"],aclfilter:&["machine:getattr"],high_priority:true,..ProcedureInfo::new(3,"DEMO_PROC_GET","get")}"#,
        r#"ProcedureInfo::new(1,"DEMO_PROC_NEW","new")"#,
        r#"ProcedureInfo{message:Some("wrapper"),..ProcedureInfo::new(2,"DEMO_PROC_CHANGED","changed")}"#,
        r#"ProcedureInfo{args:Some("name"),readstream:Some(1),sparseflag:Some("DEMO_F_SPARSE"),..ProcedureInfo::new(4,"#,
        r#"ProcedureInfo{args:Some("scalars"),ret:Some("unsignedhyper"),writestream:Some(2),..ProcedureInfo::new(6,"#,
        r#"ProcedureInfo{args:Some("int,name"),ret:Some("int<4>"),..ProcedureInfo::new(2,"PING_ADD","ping_add")}"#,
    ] {
        assert!(text.contains(want), "missing {want}");
    }
}

#[test]
fn payload_types_are_written_as_x_text() {
    use crate::model::Type;
    let cases = [
        (Type::UnsignedHyper, "unsigned hyper"),
        (Type::String(None), "string<>"),
        (Type::VarOpaque(Some(test_models::lit(8))), "opaque<8>"),
        (
            Type::FixedArray(Box::new(Type::Int), test_models::lit(3)),
            "int[3]",
        ),
        (
            Type::Optional {
                inner: Box::new(test_models::named("demo", "entry", "Entry")),
                boxed: true,
            },
            "entry *",
        ),
    ];
    for (ty, want) in cases {
        assert_eq!(procs::xdr_text(&ty), want);
    }
}

#[test]
fn tables_can_be_left_out_except_those_a_client_uses() {
    let none = Options {
        procedure_tables: false,
        ..Options::default()
    };
    let text = generate(&model(), &none);
    assert!(!text.contains("ProgramInfo"), "{text}");
    let client_only = Options {
        procedure_tables: false,
        ..with_client()
    };
    let text = generate(&model(), &client_only);
    assert!(text.contains("pub static DEMO_PROGRAM_INFO:"), "{text}");
    // RFC 5531 programs get per-version clients, which use their versions' tables.
    assert!(
        text.contains("pub static PING_PROG_PING_V1_INFO:"),
        "{text}"
    );
}

#[test]
fn clients_are_off_by_default_and_follow_each_programs_style() {
    let text = generate(&model(), &Options::default());
    assert!(
        !text.contains("DemoClient") && !text.contains("libvirt"),
        "{text}"
    );
    let text = generate(&model(), &with_client());
    assert!(text.contains("pub struct DemoClient {"), "{text}");
    assert!(!text.contains("PingClient"), "{text}");
    assert!(text.contains("pub struct PingV1Client {"), "{text}");
    assert!(text.contains("pub struct PingV2Client {"), "{text}");
    if let Err(e) = syn::parse_file(&text) {
        panic!("generated code does not parse: {e}\n{text}");
    }
}

#[test]
fn client_methods_make_one_runtime_call_each() {
    let text = squash(&rpc(&with_client()));
    let lv = "::xdrgen_runtime::codegen::libvirt";
    for want in [
        format!(
            "pubasyncfnget(&self,args:&super::demo::Scalars)->::core::result::Result<super::other::Wrapper,{lv}::Error>{{self.inner.call(Self::INFO,3,args).await}}"
        ),
        // `new` is the constructor's name: the procedure's method takes a `_`.
        format!(
            "pubasyncfnnew_(&self)->::core::result::Result<(),{lv}::Error>{{self.inner.call(Self::INFO,1,&()).await}}"
        ),
        format!(
            "pubasyncfndownload(&self,args:&super::demo::Name)->::core::result::Result<((),{lv}::ReadStream),{lv}::Error>{{self.inner.call_read_stream(Self::INFO,4,args).await}}"
        ),
        format!(
            "pubasyncfnupload(&self,args:&super::demo::Scalars)->::core::result::Result<(u64,{lv}::WriteStream),{lv}::Error>{{self.inner.call_write_stream(Self::INFO,6,args).await}}"
        ),
        "pubconstINFO:&'static::xdrgen_runtime::codegen::ProgramInfo=&DEMO_PROGRAM_INFO;"
            .to_string(),
        format!("pubfnevents(&self,capacity:usize)->{lv}::Events<DemoEvent>"),
        // A typedef of fixed opaque data is `[u8; 16]`, whose runtime codec is `opaque[16]`.
        format!(
            "pubasyncfnby_uuid(&self,args:&super::demo::Uuid)->::core::result::Result<(),{lv}::Error>{{self.inner.call(Self::INFO,5,args).await}}"
        ),
    ] {
        assert!(text.contains(&want), "missing {want}\nin {text}");
    }
    // The event procedure is only an event; `[u8; 4]` would be sent as opaque data where
    // rpcgen sends 4 words of `unsigned char`, so that procedure is listed in the docs
    // instead of getting a method that would send the wrong bytes.
    assert!(!text.contains("fnchanged("), "{text}");
    assert!(!text.contains("fnby_words("), "{text}");
    assert!(
        text.contains(&squash(
            "/// - `DEMO_PROC_BY_WORDS` (7): its argument type `words` holds a fixed array of \
             `unsigned char`, whose Rust type `[u8; N]` would be sent as `opaque[N]` instead of \
             N words."
        )),
        "{text}"
    );
}

#[test]
fn method_docs_name_the_procedure_and_keep_annotations_apart() {
    let text = rpc(&with_client());
    let docs = "        /// Calls `DEMO_PROC_GET` (procedure 3).\n        ///\n        \
                /// Gets \\<it\\>.\n        ///\n        \
                /// libvirt annotations: `@generate: both`, `@acl: machine:read`.\n        \
                pub async fn get(";
    assert!(text.contains(docs), "{text}");
}

#[test]
fn events_decode_by_procedure_number() {
    let text = squash(&rpc(&with_client()));
    for want in [
        "pubenumDemoEvent{///`DEMO_PROC_CHANGED`(procedure2).Changed(super::other::Wrapper)}",
        "impl::xdrgen_runtime::codegen::libvirt::EventforDemoEvent{constPROGRAM:&'static::xdrgen_runtime::codegen::ProgramInfo=&DEMO_PROGRAM_INFO;",
        "letevent=matchprocedure{2=>Self::Changed(from_shared(body)?),_=>returnOk(None)};Ok(Some(event))",
    ] {
        assert!(text.contains(want), "missing {want}\nin {text}");
    }
}

#[test]
fn programs_without_events_get_no_event_enum() {
    let mut model = model();
    let rpc = model.modules.last_mut().expect("rpc");
    rpc.programs[0].versions[0]
        .procedures
        .retain(|p| p.message.is_none());
    let text = generate(&model, &with_client());
    assert!(text.contains("pub struct DemoClient"), "{text}");
    assert!(
        !text.contains("DemoEvent") && !text.contains("fn events"),
        "{text}"
    );
}

#[test]
fn generated_names_taken_by_x_names_are_reported() {
    let mut model = model();
    assert!(name_clashes(&model, &with_client()).is_empty());
    let rpc = model.modules.last_mut().expect("rpc");
    rpc.types.push(struct_def("demo_client", Vec::new()));
    rpc.consts.push(Const {
        xdr_name: "PING_PROG_PING_V2_INFO".into(),
        rust_name: "PING_PROG_PING_V2_INFO".into(),
        value: 1,
        docs: Docs::default(),
    });
    let clashes = name_clashes(&model, &with_client());
    assert_eq!(
        clashes,
        [
            "the client `DemoClient` of program `DEMO_PROGRAM` has the Rust name of the type \
             `demo_client` in proto/rpc.x",
            "the procedure table `PING_PROG_PING_V2_INFO` of program `PING_PROG` has the Rust \
             name of the constant `PING_PROG_PING_V2_INFO` in proto/rpc.x",
        ]
    );
    // Without a client, its name is free.
    assert_eq!(name_clashes(&model, &Options::default()).len(), 1);
}
