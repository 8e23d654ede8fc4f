//! `onc_demo.x`'s behaviour, written once for every peer: [`DemoImpl`] serves both versions
//! (the generated `DemoV1Server` and `DemoV2Server` traits), `onc_demo_server.c` implements the
//! same rules in C for rpcgen's server, and [`exercise`] calls every procedure through the
//! generated clients and checks the answers, whichever of the two serves them. The C client
//! (`onc_demo_client.c`) checks the same values from the other side.
//!
//! The rules: `ECHO_POINT` returns its point; `GREET` its name in ASCII upper case;
//! `SUMMARIZE` the item count, the sum of the values, the names joined by `,` and the corner
//! of the first rectangle; `REVERSE` the list reversed; `FIND` the item of that name (status 0)
//! or status 1; `ADD3` the sum of its three arguments; `SCALE` the figure with its radius or
//! corner multiplied. `GREET` refuses the name `"garbage"` with `GARBAGE_ARGS` and
//! `ECHO_POINT` the point (13, 13) with `SYSTEM_ERR`, so that each side can see the other's
//! refusals.

use xdrgen_runtime::onc::{CallError, Context, Credentials, Error, Refusal};
use xdrgen_runtime::xdr::{Opaque, VarArray, XdrString};

use crate::fixtures::onc_demo::*;

/// Serves `DEMO_PROG` versions 1 and 2 by the rules above. Its `uid` records the `AUTH_SYS`
/// uid of the last `ECHO_POINT` call (0 without `AUTH_SYS`).
#[derive(Debug, Default)]
pub struct DemoImpl {
    /// The last `ECHO_POINT` caller's `AUTH_SYS` uid.
    pub uid: std::sync::atomic::AtomicU32,
}

fn echo(imp: &DemoImpl, cx: &Context, p: DemoPoint) -> Result<DemoPoint, CallError> {
    let uid = match cx.credentials() {
        Credentials::Sys(sys) => sys.uid,
        _ => 0,
    };
    imp.uid.store(uid, std::sync::atomic::Ordering::SeqCst);
    if (p.x, p.y) == (13, 13) {
        return Err(CallError::SystemErr);
    }
    Ok(p)
}

impl DemoV1Server for DemoImpl {
    async fn demo_echo_point(&self, cx: &Context, arg: DemoPoint) -> Result<DemoPoint, CallError> {
        echo(self, cx, arg)
    }

    async fn demo_greet(&self, _cx: &Context, arg: DemoName) -> Result<DemoName, CallError> {
        if arg.as_str() == "garbage" {
            return Err(CallError::GarbageArgs);
        }
        XdrString::new(arg.as_str().to_ascii_uppercase()).map_err(|_| CallError::SystemErr)
    }
}

impl DemoV2Server for DemoImpl {
    async fn demo_echo_point(&self, cx: &Context, arg: DemoPoint) -> Result<DemoPoint, CallError> {
        echo(self, cx, arg)
    }

    async fn demo_summarize(&self, _cx: &Context, arg: DemoList) -> Result<DemoSummary, CallError> {
        Ok(summarize(&arg))
    }

    async fn demo_reverse(&self, _cx: &Context, arg: DemoNode) -> Result<DemoNode, CallError> {
        list_node(&list_values(&arg).into_iter().rev().collect::<Vec<_>>())
            .ok_or(CallError::SystemErr)
    }

    async fn demo_find(
        &self,
        _cx: &Context,
        arg1: DemoList,
        arg2: DemoName,
    ) -> Result<DemoLookupRes, CallError> {
        Ok(find(&arg1, arg2.as_str()))
    }

    async fn demo_add3(
        &self,
        _cx: &Context,
        arg1: i32,
        arg2: i64,
        arg3: u32,
    ) -> Result<i64, CallError> {
        Ok(i64::from(arg1)
            .wrapping_add(arg2)
            .wrapping_add(i64::from(arg3)))
    }

    async fn demo_scale(
        &self,
        _cx: &Context,
        arg1: DemoFigure,
        arg2: i32,
    ) -> Result<DemoFigure, CallError> {
        Ok(scale(&arg1, arg2))
    }
}

/// `SUMMARIZE`'s rule.
pub fn summarize(list: &DemoList) -> DemoSummary {
    let items = list.items.as_slice();
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    DemoSummary {
        count: items.len() as i32,
        total: items.iter().fold(0i64, |t, i| t.wrapping_add(i.value)),
        names: XdrString::new(names.join(",")).unwrap_or_default(),
        first_corner: items.iter().find_map(|i| match &i.figure {
            DemoFigure::Rect(p) => Some(p.clone()),
            _ => None,
        }),
    }
}

/// `FIND`'s rule.
pub fn find(list: &DemoList, name: &str) -> DemoLookupRes {
    match list.items.iter().find(|i| i.name.as_str() == name) {
        Some(item) => DemoLookupRes::Item(item.clone()),
        None => DemoLookupRes::Default(1),
    }
}

/// `SCALE`'s rule.
pub fn scale(figure: &DemoFigure, k: i32) -> DemoFigure {
    match figure {
        DemoFigure::Circle(r) => DemoFigure::Circle(r.wrapping_mul(k as u32)),
        DemoFigure::Rect(p) => DemoFigure::Rect(DemoPoint {
            x: p.x.wrapping_mul(k),
            y: p.y.wrapping_mul(k),
        }),
        DemoFigure::Noshape => DemoFigure::Noshape,
    }
}

/// The values of a linked list, in order.
pub fn list_values(node: &DemoNode) -> Vec<i32> {
    let mut out = vec![node.value];
    let mut next = node.next.as_deref();
    while let Some(n) = next {
        out.push(n.value);
        next = n.next.as_deref();
    }
    out
}

/// A linked list of these values; `None` for none.
pub fn list_node(values: &[i32]) -> Option<DemoNode> {
    let mut head: Option<DemoNode> = None;
    for &value in values.iter().rev() {
        head = Some(DemoNode {
            value,
            next: head.map(Box::new),
        });
    }
    head
}

/// The list the checks send (the C client builds the same one).
pub fn sample_list() -> DemoList {
    let item = |name: &str, value: i64, figure: DemoFigure, tag: &[u8]| DemoItem {
        name: XdrString::try_from(name).unwrap(),
        value,
        figure,
        tag: Opaque::try_from(tag).unwrap(),
    };
    DemoList {
        items: VarArray::new(vec![
            item("alpha", 1 << 40, DemoFigure::Circle(7), b"t1"),
            item("beta", -5, DemoFigure::Rect(DemoPoint { x: 3, y: -4 }), b""),
            item("gamma", 12, DemoFigure::Noshape, b"12345678"),
        ])
        .unwrap(),
    }
}

/// What a failed check says.
fn check<T: std::fmt::Debug + PartialEq>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

fn refused<T: std::fmt::Debug>(
    what: &str,
    r: Result<T, Error>,
    want: Refusal,
) -> Result<(), String> {
    match r {
        Err(e) if e.refusal() == Some(want) => Ok(()),
        other => Err(format!("{what}: got {other:?}, want {want}")),
    }
}

/// Calls every procedure of both versions (and a version 3 that does not exist) and checks the
/// answers by the rules above; the first mismatch is the error.
///
/// `short_args_refused`: whether arguments cut short must get `GARBAGE_ARGS`. libtirpc's UDP
/// server decodes a datagram from its whole receive buffer, past the datagram's end, so it
/// takes stale bytes for the missing arguments; against it this one check is left out.
pub async fn exercise(
    client: &xdrgen_runtime::onc::Client,
    short_args_refused: bool,
) -> Result<(), String> {
    let e = |e: Error| e.to_string();
    let v1 = DemoV1Client::new(client.clone());
    let v2 = DemoV2Client::new(client.clone());
    let p = DemoPoint { x: -1, y: 2 };
    v1.demo_null().await.map_err(e)?;
    v2.demo_null().await.map_err(e)?;
    check(
        "v1 echo",
        v1.demo_echo_point(&p).await.map_err(e)?,
        p.clone(),
    )?;
    check(
        "v2 echo",
        v2.demo_echo_point(&p).await.map_err(e)?,
        p.clone(),
    )?;
    let name = XdrString::try_from("hello, world").unwrap();
    check(
        "greet",
        v1.demo_greet(&name).await.map_err(e)?.into_string(),
        "HELLO, WORLD".into(),
    )?;
    let list = sample_list();
    check(
        "summarize",
        v2.demo_summarize(&list).await.map_err(e)?,
        summarize(&list),
    )?;
    let empty = DemoList {
        items: VarArray::default(),
    };
    check(
        "summarize empty",
        v2.demo_summarize(&empty).await.map_err(e)?,
        summarize(&empty),
    )?;
    let chain = list_node(&[1, 2, 3, 4, 5]).unwrap();
    check(
        "reverse",
        list_values(&v2.demo_reverse(&chain).await.map_err(e)?),
        vec![5, 4, 3, 2, 1],
    )?;
    for wanted in ["beta", "delta"] {
        let n = XdrString::try_from(wanted).unwrap();
        check(
            wanted,
            v2.demo_find(&list, &n).await.map_err(e)?,
            find(&list, wanted),
        )?;
    }
    check(
        "add3",
        v2.demo_add3(&-7, &(1 << 33), &u32::MAX).await.map_err(e)?,
        -7 + (1 << 33) + i64::from(u32::MAX),
    )?;
    for figure in [
        DemoFigure::Circle(9),
        DemoFigure::Rect(DemoPoint { x: 2, y: -3 }),
        DemoFigure::Noshape,
    ] {
        check(
            "scale",
            v2.demo_scale(&figure, &3).await.map_err(e)?,
            scale(&figure, 3),
        )?;
    }
    // Refusals: the server's own and the dispatcher's.
    refused(
        "system error",
        v2.demo_echo_point(&DemoPoint { x: 13, y: 13 }).await,
        Refusal::SystemErr,
    )?;
    refused(
        "garbage",
        v1.demo_greet(&XdrString::try_from("garbage").unwrap())
            .await,
        Refusal::GarbageArgs,
    )?;
    let info = |version| xdrgen_runtime::rpc::ProgramInfo {
        version,
        ..*DemoV2Client::INFO
    };
    refused(
        "procedure 99",
        client.call::<_, ()>(&info(2), 99, &()).await,
        Refusal::ProcUnavail,
    )?;
    refused(
        "version 3",
        client.call::<_, ()>(&info(3), 0, &()).await,
        Refusal::ProgMismatch { low: 1, high: 2 },
    )?;
    // ADD3 with its last argument missing.
    if !short_args_refused {
        return Ok(());
    }
    refused(
        "short args",
        client.call::<_, i64>(&info(2), 5, &(&1i32, &2i64)).await,
        Refusal::GarbageArgs,
    )?;
    Ok(())
}
