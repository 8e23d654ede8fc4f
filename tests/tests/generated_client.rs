//! The client, event enum and procedure table generated for `libvirt_style.x` (compiled by
//! `build.rs` against the runtime's `libvirt` feature): signatures, event decoding and table
//! lookups, without a connection.

use xdrgen_runtime::codegen::libvirt::{Error, Event, ReadStream, WriteStream};
use xdrgen_runtime::codegen::{to_bytes, Bytes, Generate, XdrString};
use xdrgen_tests::fixtures::libvirt_style::*;

fn machine() -> DemoNonnullMachine {
    DemoNonnullMachine {
        name: XdrString::try_from("vm1").expect("fits"),
        uuid: [7; 16],
        id: 3,
    }
}

/// Type-checks every kind of generated method; never run (there is no connection).
#[allow(dead_code)]
async fn signatures(client: &DemoClient) -> Result<(), Error> {
    client.close().await?;
    let _: DemoGetVersionRet = client.get_version().await?;
    let name = XdrString::try_from("vm1").expect("fits");
    let _: DemoLookupRet = client.lookup(&DemoLookupArgs { name }).await?;
    let screen = DemoScreenshotArgs {
        machine: machine(),
        screen: 0,
    };
    let _: (DemoScreenshotRet, ReadStream) = client.screenshot(&screen).await?;
    let upload = DemoUploadArgs {
        machine: machine(),
        offset: 0,
        flags: 0,
    };
    let _: (DemoUploadRet, WriteStream) = client.upload(&upload).await?;
    let _: () = client.with_timeout(None).ping().await?;
    Ok(())
}

/// Generated calls can be spawned on a multi-threaded runtime.
#[allow(dead_code)]
fn futures_are_send(client: &DemoClient, args: &DemoLookupArgs) {
    fn send<T: Send>(_: &T) {}
    send(&client.lookup(args));
    send(&client.close());
}

#[test]
fn the_table_is_sorted_and_carries_the_annotations() {
    let info = DemoClient::INFO;
    assert!(std::ptr::eq(info, &DEMO_PROGRAM_INFO));
    assert_eq!(
        (info.name, info.number, info.version),
        ("DEMO_PROGRAM", 0x4445_4d4f, 1)
    );
    let numbers: Vec<u32> = info.procedures.iter().map(|p| p.number).collect();
    assert_eq!(numbers, (1..=11).collect::<Vec<_>>());
    let upload = info.procedure(10).expect("upload");
    assert_eq!(
        (upload.name, upload.method, upload.args, upload.ret),
        (
            "DEMO_PROC_UPLOAD",
            "upload",
            Some("demo_upload_args"),
            Some("demo_upload_ret")
        )
    );
    assert_eq!(upload.writestream, Some(1));
    assert_eq!(upload.sparseflag, Some("DEMO_UPLOAD_SPARSE"));
    assert!(upload.has_stream());
    let set_params = info.procedure(6).expect("set_params");
    assert_eq!(
        set_params.acl,
        ["machine:write", "machine:save:!DEMO_FLAG_LIVE"]
    );
    assert_eq!(set_params.generate, Some(Generate::Server));
    let list = info.procedure(5).expect("list");
    assert_eq!(list.aclfilter, ["machine:getattr"]);
    assert!(info.procedure(9).expect("ping").high_priority);
    let event = info.procedure(8).expect("state_event");
    assert_eq!(event.message, Some("demo_state_event_msg"));
    let uuid_of = info.procedure(11).expect("uuid_of");
    assert_eq!(
        (uuid_of.args, uuid_of.ret),
        (Some("demo_uuid_of_args"), Some("demo_uuid_of_ret"))
    );
    assert!(info.procedure(12).is_none());
}

#[test]
fn events_decode_their_message_and_ignore_other_procedures() {
    assert!(std::ptr::eq(DemoEvent::PROGRAM, &DEMO_PROGRAM_INFO));
    let msg = DemoStateEventMsg {
        callback_id: 5,
        machine: Some(machine()),
        state: 1,
        reason: 2,
    };
    let body = Bytes::from(to_bytes(&msg).expect("encodes"));
    assert_eq!(
        DemoEvent::decode_event(8, &body).expect("decodes"),
        Some(DemoEvent::StateEvent(msg))
    );
    assert_eq!(
        DemoEvent::decode_event(3, &body).expect("not an event"),
        None
    );
    assert!(DemoEvent::decode_event(8, &body.slice(..body.len() - 1)).is_err());
}
