//! Hostile input against hand-written types shaped like generated code: every truncation,
//! oversized lengths, deep nesting and error paths.

use xdrgen_runtime::xdr::{
    from_bytes, from_bytes_with_limits, to_bytes, Decode, Decoder, Encode, Encoder, Error,
    ErrorKind, Limits, Opaque, VarArray, XdrString,
};

/// What the emitter produces for:
///
/// ```text
/// struct node_info {
///     string model<32>;
///     unsigned hyper memory;
///     int cpus;
///     opaque cookie<8>;
///     unsigned int ids<4>;
///     opaque uuid[5];
///     bool active;
///     char nice;
/// };
/// ```
#[derive(Debug, PartialEq)]
struct NodeInfo {
    model: XdrString<32>,
    memory: u64,
    cpus: i32,
    cookie: Opaque<8>,
    ids: VarArray<u32, 4>,
    uuid: [u8; 5],
    active: bool,
    nice: i8,
}

impl Encode for NodeInfo {
    fn encoded_len(&self) -> usize {
        self.model.encoded_len()
            + 8
            + 4
            + self.cookie.encoded_len()
            + 4
            + 4 * self.ids.len()
            + 8
            + 4
            + 4
    }
    fn encode(&self, out: &mut Encoder) -> Result<(), Error> {
        (|| {
            self.model.encode(out).map_err(|e| e.at("model"))?;
            out.put_u64(self.memory);
            out.put_i32(self.cpus);
            self.cookie.encode(out).map_err(|e| e.at("cookie"))?;
            out.put_len(self.ids.len(), 4).map_err(|e| e.at("ids"))?;
            for id in &self.ids {
                out.put_u32(*id);
            }
            out.put_fixed_opaque(&self.uuid);
            out.put_bool(self.active);
            self.nice.encode(out)
        })()
        .map_err(|e: Error| e.at("node_info"))
    }
}

impl Decode for NodeInfo {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, Error> {
        (|| {
            let model = XdrString::decode(d).map_err(|e| e.at("model"))?;
            let memory = d.get_u64().map_err(|e| e.at("memory"))?;
            let cpus = d.get_i32().map_err(|e| e.at("cpus"))?;
            let cookie = Opaque::decode(d).map_err(|e| e.at("cookie"))?;
            let ids = d
                .get_var_array(4, Decoder::get_u32)
                .map_err(|e| e.at("ids"))?;
            let uuid = d.get_fixed_opaque::<5>().map_err(|e| e.at("uuid"))?;
            let active = d.get_bool().map_err(|e| e.at("active"))?;
            let nice = i8::decode(d).map_err(|e| e.at("nice"))?;
            Ok(NodeInfo {
                model,
                memory,
                cpus,
                cookie,
                ids,
                uuid,
                active,
                nice,
            })
        })()
        .map_err(|e: Error| e.at("node_info"))
    }
}

/// The encoding of `sample()`, written out by hand from RFC 4506.
const SAMPLE_BYTES: &[u8] = &[
    0, 0, 0, 6, b'x', b'8', b'6', b'_', b'6', b'4', 0, 0, // model "x86_64"
    0, 0, 0, 1, 0, 0, 0, 0, // memory 1 << 32
    0xff, 0xff, 0xff, 0xfe, // cpus -2
    0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0, // cookie
    0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 9, // ids [7, 9]
    1, 2, 3, 4, 5, 0, 0, 0, // uuid
    0, 0, 0, 1, // active
    0xff, 0xff, 0xff, 0xca, // nice -54
];

fn sample() -> NodeInfo {
    NodeInfo {
        model: XdrString::try_from("x86_64").unwrap(),
        memory: 1 << 32,
        cpus: -2,
        cookie: Opaque::try_from(&[0xaa, 0xbb, 0xcc][..]).unwrap(),
        ids: VarArray::new(vec![7, 9]).unwrap(),
        uuid: [1, 2, 3, 4, 5],
        active: true,
        nice: -54,
    }
}

#[test]
fn sample_matches_literal_bytes_both_ways() {
    assert_eq!(to_bytes(&sample()).unwrap(), SAMPLE_BYTES);
    assert_eq!(sample().encoded_len(), SAMPLE_BYTES.len());
    assert_eq!(from_bytes::<NodeInfo>(SAMPLE_BYTES).unwrap(), sample());
}

#[test]
fn every_truncation_is_unexpected_eof() {
    for cut in 0..SAMPLE_BYTES.len() {
        let err = from_bytes::<NodeInfo>(&SAMPLE_BYTES[..cut]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::UnexpectedEof { .. }),
            "cut at {cut}: {err}"
        );
        assert_eq!(
            err.path_elements().next(),
            Some("node_info"),
            "cut at {cut}"
        );
    }
}

#[test]
fn truncation_errors_name_the_field() {
    let err = from_bytes::<NodeInfo>(&SAMPLE_BYTES[..14]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node_info.memory: unexpected end of input: needed 8 bytes, 2 left"
    );
    let err = from_bytes::<NodeInfo>(&SAMPLE_BYTES[..9]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node_info.model: unexpected end of input: needed 8 bytes, 5 left"
    );
}

#[test]
fn trailing_bytes_after_a_complete_value() {
    let mut bytes = SAMPLE_BYTES.to_vec();
    bytes.extend([0, 0, 0]);
    assert_eq!(
        from_bytes::<NodeInfo>(&bytes).unwrap_err().to_string(),
        "3 trailing bytes after the value"
    );
}

/// Replaces 4 bytes at `at` in the sample.
fn patched(at: usize, word: [u8; 4]) -> Vec<u8> {
    let mut b = SAMPLE_BYTES.to_vec();
    b[at..at + 4].copy_from_slice(&word);
    b
}

#[test]
fn corrupt_fields_give_precise_errors() {
    let cases: &[(usize, [u8; 4], &str)] = &[
        (
            0,
            [0, 0, 0, 33],
            "node_info.model: length 33 exceeds bound 32",
        ),
        (
            8,
            [b'6', b'4', 0, 1],
            "node_info.model: padding bytes are not zero",
        ),
        (
            4,
            [0xff, b'8', b'6', b'_'],
            "node_info.model: string is not valid UTF-8",
        ),
        (
            24,
            [0, 0, 0, 9],
            "node_info.cookie: length 9 exceeds bound 8",
        ),
        (32, [0, 0, 0, 5], "node_info.ids: length 5 exceeds bound 4"),
        // 3 ids fit the bound and the 24 bytes left, and shift everything after them.
        (
            32,
            [0, 0, 0, 3],
            "node_info.uuid: padding bytes are not zero",
        ),
        (
            48,
            [5, 0, 0, 1],
            "node_info.uuid: padding bytes are not zero",
        ),
        (52, [0, 0, 0, 2], "node_info.active: invalid boolean 2"),
        (
            56,
            [0, 0, 0, 0x80],
            "node_info.nice: value 128 out of range for i8",
        ),
    ];
    for (at, word, expected) in cases {
        let err = from_bytes::<NodeInfo>(&patched(*at, *word)).unwrap_err();
        assert_eq!(err.to_string(), *expected, "patch at {at}");
    }
}

#[test]
fn array_count_larger_than_the_input_is_refused() {
    // ids<4> claiming 4 elements needs 16 bytes; cut the input so only 12 remain after it.
    let err = from_bytes::<NodeInfo>(&patched(32, [0, 0, 0, 4])[..48]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node_info.ids: unexpected end of input: needed 16 bytes, 12 left"
    );
}

#[test]
fn encode_errors_name_the_field() {
    // Bounded types cannot hold an over-long value, so drive the encoder check directly,
    // adding the path as generated code does.
    let mut out = Encoder::new();
    let err = out
        .put_var_opaque(&[0; 9000000], 4194304)
        .map_err(|e| e.at("xml").at("remote_domain_get_xml_desc_ret"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "remote_domain_get_xml_desc_ret.xml: length 9000000 exceeds bound 4194304"
    );
    assert!(out.is_empty());
}

#[test]
fn huge_declared_lengths_fail_fast() {
    // Lengths near u32::MAX with 4 bytes behind them must fail from the length word alone (an
    // allocation of that size would abort or take seconds).
    let bytes = [0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4];
    let err = from_bytes::<Opaque<{ u32::MAX }>>(&bytes).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::UnexpectedEof { remaining: 4, .. }
    ));
    let err = from_bytes::<XdrString>(&bytes).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::UnexpectedEof { remaining: 4, .. }
    ));
    for len in [0x7fff_ffffu32, 0xffff_fffc, 0x1000_0000, 2] {
        let mut input = len.to_be_bytes().to_vec();
        input.extend_from_slice(&[0; 4]);
        let err = Decoder::new(&input).get_len(u32::MAX, 4).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::UnexpectedEof {
                needed: len as usize * 4,
                remaining: 4
            }
        );
    }
}

#[test]
fn get_len_counts_fitting_the_bound_but_not_the_input() {
    // 3 elements of at least 8 bytes (hyper) cannot fit in 16 remaining bytes.
    let input = [0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];
    let err = Decoder::new(&input).get_len(10, 8).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::UnexpectedEof {
            needed: 24,
            remaining: 16
        }
    );
    assert_eq!(Decoder::new(&input).get_len(10, 4).unwrap(), 3);
}

/// A recursive list as the emitter writes it: `struct list { int v; list *next; };`
#[derive(Debug, PartialEq)]
struct List {
    v: i32,
    next: Option<Box<List>>,
}

impl Decode for List {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, Error> {
        d.enter()?;
        let v = d.get_i32().map_err(|e| e.at("v"))?;
        let next = d
            .get_optional(|d| List::decode(d).map(Box::new))
            .map_err(|e| e.at("next"))?;
        d.leave();
        Ok(List { v, next })
    }
}

fn chain(links: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..links {
        b.extend_from_slice(&(i as i32).to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, u8::from(i + 1 < links)]);
    }
    b
}

#[test]
fn nesting_within_the_limit_decodes() {
    let list: List = from_bytes(&chain(256)).unwrap();
    let mut depth = 1;
    let mut node = &list;
    while let Some(next) = &node.next {
        depth += 1;
        node = next;
    }
    assert_eq!(depth, 256);
}

#[test]
fn nesting_past_the_limit_is_refused() {
    let err = from_bytes::<List>(&chain(257)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DepthLimit(256));
    assert!(
        err.to_string().ends_with("next: nesting deeper than 256"),
        "{err}"
    );
    // A deeper hostile chain fails the same way instead of overflowing the stack.
    let err = from_bytes::<List>(&chain(100_000)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DepthLimit(256));
    let shallow = Limits::default().with_max_depth(3);
    assert!(from_bytes_with_limits::<List>(&chain(3), shallow).is_ok());
    assert_eq!(
        from_bytes_with_limits::<List>(&chain(4), shallow)
            .unwrap_err()
            .kind(),
        &ErrorKind::DepthLimit(3)
    );
}

#[test]
fn oversized_messages_are_refused_up_front() {
    let limits = Limits::default().with_max_message(16);
    let err = from_bytes_with_limits::<List>(&chain(3), limits).unwrap_err();
    assert_eq!(err.to_string(), "message of 24 bytes exceeds limit 16");
    // The default limit is 32 MiB.
    let big = vec![0u8; 32 * 1024 * 1024 + 4];
    assert_eq!(
        from_bytes::<u32>(&big).unwrap_err().kind(),
        &ErrorKind::MessageTooLarge {
            length: 33554436,
            limit: 33554432
        }
    );
}

/// `opaque big[4096]` behind a pointer: 4 bytes on the wire when absent, 4 KiB in memory.
fn sparse_list(input: &mut Decoder<'_>) -> Result<VarArray<Option<[u8; 4096]>>, Error> {
    input.get_var_array(4, |d| d.get_optional(|d| d.get_fixed_opaque::<4096>()))
}

/// A count of `n` absent optional values.
fn absent(n: u32) -> Vec<u8> {
    let mut bytes = n.to_be_bytes().to_vec();
    bytes.resize(4 + 4 * n as usize, 0);
    bytes
}

#[test]
fn arrays_that_expand_far_beyond_the_input_are_refused_before_reserving() {
    // 100,000 absent values: 400 KB of input, 410 MB as Rust values.
    let bytes = absent(100_000);
    let err = sparse_list(&mut Decoder::new(&bytes)).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::MemoryLimit {
                needed: 409_700_000,
                ..
            }
        ),
        "{err}"
    );

    // The same shape within the allowance decodes: 256 values take 256 * 4097 = 1,048,832
    // bytes, within 16 per input byte (16 * 1028) plus 1 MiB = 1,065,024.
    let bytes = absent(256);
    let list = sparse_list(&mut Decoder::new(&bytes)).unwrap();
    assert_eq!(list.len(), 256);

    // And the allowance is configurable: with nothing per input byte, 1 MiB (1,048,576) is all
    // there is.
    let limits = Limits::default().with_max_expansion(0);
    let mut input = Decoder::with_limits(&bytes, limits).unwrap();
    let err = sparse_list(&mut input).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::MemoryLimit { .. }), "{err}");
}
