//! Emitter tests of RFC 5531 programs' clients and servers (`PING_PROG` of the hand-made `rpc`
//! module of [`test_models`]: version 1 has only `NULL`; version 2 adds `PING_ADD`, which takes
//! two arguments and returns `int<4>`, and `PING_WORDS`, which returns a typedef of a fixed
//! array of `unsigned char`, whose Rust type has no codec sending rpcgen's bytes).

use super::test_models;
use super::*;

fn rpc(client: bool, server: bool) -> String {
    let mut model = test_models::model();
    model.modules.push(test_models::rpc_module());
    let options = Options {
        client,
        server,
        ..Options::default()
    };
    let text = generate(&model, &options);
    let start = text.find("pub mod rpc {").expect("module rpc");
    squash(&text[start..])
}

/// The text without whitespace and without the trailing commas prettyplease adds where it
/// breaks lines.
fn squash(text: &str) -> String {
    let s: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    s.replace(",)", ")").replace(",>", ">").replace(",}", "}")
}

#[test]
fn each_version_gets_a_client_calling_the_onc_runtime() {
    let text = rpc(true, false);
    let onc = "::xdrgen_runtime::codegen::onc";
    for want in [
        format!("pubstructPingV1Client{{inner:{onc}::Client"),
        "pubconstINFO:&'static::xdrgen_runtime::codegen::ProgramInfo=&PING_PROG_PING_V2_INFO;"
            .to_string(),
        format!(
            "pubasyncfnping_null(&self)->::core::result::Result<(),{onc}::Error>{{self.inner.call(Self::INFO,0,&()).await}}"
        ),
        // A variable-length array is `VarArray`, which has the runtime's codec.
        format!(
            "pubasyncfnping_add(&self,arg1:&i32,arg2:&super::demo::Name)->::core::result::Result<::xdrgen_runtime::codegen::VarArray<i32,4>,{onc}::Error>"
        ),
        // The procedure whose result has no codec sending rpcgen's bytes is listed, not given
        // a method.
        "`PING_WORDS`(3):itsresulttype`words`holdsafixedarrayof`unsignedchar`".to_string(),
    ] {
        assert!(text.contains(&want), "missing {want}");
    }
    assert!(!text.contains("fnping_words"));
    assert!(!text.contains("PingV1Server"));
}

#[test]
fn each_version_gets_a_server_trait_and_a_dispatcher() {
    let text = rpc(false, true);
    let onc = "::xdrgen_runtime::codegen::onc";
    for want in [
        "pubtraitPingV2Server:::core::marker::Send+::core::marker::Sync+'static".to_string(),
        // NULL succeeds by default.
        "let_=(cx);::core::future::ready(::core::result::Result::Ok(()))".to_string(),
        format!("impl<T:PingV2Server>{onc}::DispatchforPingV2Dispatcher<T>"),
        "0=>serve(args,move|()|PingV2Server::ping_null(s,cx)),_=>fallback(cx,args)}".to_string(),
    ] {
        assert!(text.contains(&want), "missing {want}");
    }
    assert!(!text.contains("PingV1Client"));
}

#[test]
fn several_arguments_go_as_a_tuple_and_come_back_as_one() {
    let mut model = test_models::model();
    let mut module = test_models::rpc_module();
    for version in module.programs.iter_mut().flat_map(|p| &mut p.versions) {
        for p in &mut version.procedures {
            if p.xdr_name == "PING_ADD" {
                p.result = Some(crate::model::Type::Hyper);
            }
        }
    }
    model.modules.push(module);
    let options = Options {
        client: true,
        server: true,
        ..Options::default()
    };
    let text = squash(&generate(&model, &options));
    for want in [
        "pubasyncfnping_add(&self,arg1:&i32,arg2:&super::demo::Name)",
        "self.inner.call(Self::INFO,2,&(arg1,arg2)).await",
        "fnping_add(&self,cx:&::xdrgen_runtime::codegen::onc::Context,arg1:i32,arg2:super::demo::Name)",
        "2=>{serve(args,move|(arg1,arg2):(i32,super::demo::Name)|PingV2Server::ping_add(s,cx,arg1,arg2))}",
    ] {
        assert!(text.contains(want), "missing {want}");
    }
}
