//! Emitter tests of libvirt-style servers (`…Server` traits and `…Dispatcher`s), on the
//! hand-made `rpc` module of [`test_models`].

use super::test_models::{self, struct_def};
use super::*;

/// The demo, other and rpc modules.
fn model() -> Model {
    let mut model = test_models::model();
    model.modules.push(test_models::rpc_module());
    model
}

fn with_server() -> Options {
    Options {
        server: true,
        ..Options::default()
    }
}

/// The generated module `rpc`, with all whitespace removed so that tests do not depend on
/// where prettyplease breaks lines (trailing commas before a closing bracket dropped too).
fn rpc(options: &Options) -> String {
    let text = generate(&model(), options);
    let start = text.find("pub mod rpc {").expect("module rpc");
    let s: String = text[start..]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    s.replace(",)", ")")
        .replace(",]", "]")
        .replace(",>", ">")
        .replace(",}", "}")
}

const LV: &str = "::xdrgen_runtime::codegen::libvirt";

#[test]
fn servers_are_off_by_default_and_only_for_libvirt_programs() {
    assert!(!rpc(&Options::default()).contains("DemoServer"));
    let text = rpc(&with_server());
    assert!(
        text.contains("pubtraitDemoServer:::core::marker::Send+::core::marker::Sync+'static{"),
        "{text}"
    );
    assert!(text.contains("pubstructDemoDispatcher<T>{"), "{text}");
    assert!(!text.contains("PingServer") && !text.contains("PingDispatcher"));
    // The dispatcher names the table even when tables are off.
    let options = Options {
        procedure_tables: false,
        ..with_server()
    };
    assert!(rpc(&options).contains("pubstaticDEMO_PROGRAM_INFO:"));
}

#[test]
fn methods_take_the_context_and_default_to_not_supported() {
    let text = rpc(&with_server());
    for want in [
        format!(
            "fnget(&self,cx:&{LV}::server::Context,args:super::demo::Scalars)->impl::core::future::Future<Output=::core::result::Result<super::other::Wrapper,{LV}::RemoteError>>+::core::marker::Send{{let_=args;{LV}::server::not_supported(cx)}}"
        ),
        // No arguments: no parameter; `new` becomes `new_` (clippy's wrong_self_convention).
        format!(
            "fnnew_(&self,cx:&{LV}::server::Context)->impl::core::future::Future<Output=::core::result::Result<(),{LV}::RemoteError>>+::core::marker::Send{{{LV}::server::not_supported(cx)}}"
        ),
        // Streams: the result comes with the stream's body.
        format!(
            "fndownload(&self,cx:&{LV}::server::Context,args:super::demo::Name)->impl::core::future::Future<Output=::core::result::Result<((),{LV}::server::SendData),{LV}::RemoteError>>+::core::marker::Send{{let_=args;{LV}::server::not_supported(cx)}}"
        ),
        format!(
            "fnupload(&self,cx:&{LV}::server::Context,args:super::demo::Scalars)->impl::core::future::Future<Output=::core::result::Result<(u64,{LV}::server::ReceiveData),{LV}::RemoteError>>+::core::marker::Send{{let_=args;{LV}::server::not_supported(cx)}}"
        ),
    ] {
        assert!(text.contains(&want), "missing {want}\nin {text}");
    }
    // The docs say which way the data goes, and the sparse flag.
    assert!(text.contains("(`@readstream`):returnthe"), "{text}");
    assert!(text.contains("flagshave`DEMO_F_SPARSE`"), "{text}");
    assert!(text.contains("(`@writestream`):returnthe"), "{text}");
    // Events and procedures without codecs get no method, and the docs say why; a typedef
    // of fixed opaque data has one.
    for absent in ["fnchanged(", "fnby_words("] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
    assert!(
        text.contains("///-`DEMO_PROC_BY_WORDS`(7):itsargumenttype`words`holdsafixedarray"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "fnby_uuid(&self,cx:&{LV}::server::Context,args:super::demo::Uuid)"
        )),
        "{text}"
    );
}

#[test]
fn each_dispatcher_arm_is_one_runtime_call() {
    let text = rpc(&with_server());
    let want = format!(
        "impl<T:DemoServer>{LV}::server::DispatchforDemoDispatcher<T>{{fnprogram(&self)->&'static::xdrgen_runtime::codegen::ProgramInfo{{&DEMO_PROGRAM_INFO}}\
         fndispatch<'a>(&'aself,cx:&'a{LV}::server::Context,args:&'a::xdrgen_runtime::codegen::Bytes)->{LV}::server::BoxFuture<'a,{LV}::server::Reply>{{\
         use{LV}::server::{{fallback,serve,serve_receive,serve_send}};lets=&*self.inner;matchcx.procedure().number{{\
         3=>serve(cx,args,move|a|DemoServer::get(s,cx,a)),\
         1=>serve(cx,args,move|()|DemoServer::new_(s,cx)),\
         5=>serve(cx,args,move|a|DemoServer::by_uuid(s,cx,a)),\
         4=>serve_send(cx,args,move|a|DemoServer::download(s,cx,a)),\
         6=>serve_receive(cx,args,move|a|DemoServer::upload(s,cx,a)),\
         _=>fallback(cx)}}}}}}"
    );
    assert!(text.contains(&want), "missing {want}\nin {text}");
}

#[test]
fn a_program_with_no_method_still_compiles_to_a_fallback() {
    let mut model = model();
    let rpc = model.modules.last_mut().expect("rpc");
    rpc.programs[0].versions[0]
        .procedures
        .retain(|p| p.message.is_some());
    let text = generate(&model, &with_server());
    let squashed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        squashed.contains(&format!("{{let_=args;{LV}::server::fallback(cx)}}")),
        "{text}"
    );
}

#[test]
fn server_names_taken_by_x_names_are_reported() {
    let mut model = model();
    assert!(name_clashes(&model, &with_server()).is_empty());
    let rpc = model.modules.last_mut().expect("rpc");
    rpc.types.push(struct_def("demo_server", Vec::new()));
    rpc.types.push(struct_def("demo_dispatcher", Vec::new()));
    assert_eq!(
        name_clashes(&model, &with_server()),
        [
            "the server trait `DemoServer` of program `DEMO_PROGRAM` has the Rust name of the \
             type `demo_server` in proto/rpc.x",
            "the dispatcher `DemoDispatcher` of program `DEMO_PROGRAM` has the Rust name of the \
             type `demo_dispatcher` in proto/rpc.x",
        ]
    );
    assert!(name_clashes(&model, &Options::default()).is_empty());
}

#[test]
fn a_server_without_codecs_is_a_compile_error() {
    let options = Options {
        codecs: false,
        ..with_server()
    };
    assert!(rpc(&options).contains("xdrgen:aserverneedsthecodecs"));
}
