//! A client generated from `tests/fixtures/nfs3.x` (NFSv3 and MOUNT v3, written here from
//! RFC 1813) against nfs-ganesha (`../shared/peers/oncrpc-peers.sh`), over TCP with AUTH_SYS,
//! both programs found through rpcbind: mount `/mem`, create a directory and a file in it,
//! write 2 MiB in 256 KiB WRITEs and read them back identical, list the directory with
//! READDIRPLUS, check GETATTR sizes, remove everything and unmount; each READ's data is decoded
//! where the socket read put it (no copy). And `showmount -e` (a C client, nfs-common) lists
//! the exports of a MOUNT server generated from the same file.

use std::net::SocketAddr;

use xdrgen_runtime::onc::{portmap, CallError, Client, Context, Credentials, Options, Server};
use xdrgen_runtime::xdr::{Opaque, XdrString};
use xdrgen_tests::fixtures::nfs3::*;
use xdrgen_tests::fixtures::rpcbind::{
    RbMapping, RbPmapVersClient, RbRpcb, RbVers4Client, RB_IPPROTO_TCP,
};
use xdrgen_tests::landed::{Landed, Reads};
use xdrgen_tests::onc_peers::{self, RPCBIND};

const CHUNK: usize = 256 * 1024;
const TOTAL: usize = 2 * 1024 * 1024;

/// A TCP client of a program version at the port rpcbind gives, with AUTH_SYS as root, and
/// where its reads put their bytes.
async fn client(program: u32, version: u32) -> (Client, Reads) {
    let rpcbind: SocketAddr = RPCBIND.parse().unwrap();
    let pmap = RbPmapVersClient::new(Client::connect_tcp(rpcbind).await.unwrap());
    let mapping = RbMapping {
        prog: program,
        vers: version,
        prot: RB_IPPROTO_TCP,
        port: 0,
    };
    let port = pmap.getport(&mapping).await.unwrap();
    assert_ne!(
        port, 0,
        "rpcbind has no TCP port for {program} version {version}"
    );
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port as u16))
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let (read, write) = stream.into_split();
    let (read, reads) = Landed::new(read);
    let client = Client::over_halves(read, write, &Options::default())
        .with_credentials(&Credentials::sys("xdrgen-tests", 0, 0))
        .unwrap();
    (client, reads)
}

fn name(s: &str) -> Filename3 {
    XdrString::try_from(s).unwrap()
}

fn sattr(mode: u32) -> Sattr3 {
    Sattr3 {
        mode: SetMode3::True(mode),
        uid: SetUid3::Default(false),
        gid: SetGid3::Default(false),
        size: SetSize3::Default(false),
        atime: SetAtime::Default(TimeHow::DontChange),
        mtime: SetMtime::Default(TimeHow::DontChange),
    }
}

fn dirop(dir: &NfsFh3, n: &str) -> Diropargs3 {
    Diropargs3 {
        dir: dir.clone(),
        name: name(n),
    }
}

/// The new object's handle from a CREATE or MKDIR result (looked up when not returned).
async fn created(nfs: &NfsV3Client, res: Create3res, dir: &NfsFh3, n: &str) -> NfsFh3 {
    match res {
        Create3res::Nfs3Ok(ok) => match ok.obj {
            PostOpFh3::True(fh) => fh,
            PostOpFh3::False => lookup(nfs, dir, n).await.expect("created object"),
        },
        Create3res::Default(status, _) => panic!("creating {n}: {status:?}"),
    }
}

async fn lookup(nfs: &NfsV3Client, dir: &NfsFh3, n: &str) -> Result<NfsFh3, Nfsstat3> {
    let args = Lookup3args {
        what: dirop(dir, n),
    };
    match nfs.nfsproc3_lookup(&args).await.unwrap() {
        Lookup3res::Nfs3Ok(ok) => Ok(ok.object),
        Lookup3res::Default(status, _) => Err(status),
    }
}

async fn size_of(nfs: &NfsV3Client, fh: &NfsFh3) -> u64 {
    let args = Getattr3args { object: fh.clone() };
    match nfs.nfsproc3_getattr(&args).await.unwrap() {
        Getattr3res::Nfs3Ok(ok) => ok.obj_attributes.size,
        Getattr3res::Default(status) => panic!("GETATTR: {status:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mount_write_read_list_and_remove_on_nfs_ganesha() {
    if !onc_peers::ensure() {
        return;
    }
    // Not while the other test has MOUNT's rpcbind entries pointing at its own server.
    let _lock = onc_peers::registration_lock().await;
    let mount = MountV3Client::new(client(MountV3Client::INFO.number, 3).await.0);
    let (nfs, nfs_reads) = client(NfsV3Client::INFO.number, 3).await;
    let nfs = NfsV3Client::new(nfs);
    nfs.nfsproc3_null().await.unwrap();

    // MOUNT /mem.
    let export = XdrString::try_from("/mem").unwrap();
    let exports = mount.mountproc3_export().await.unwrap();
    assert_eq!(
        exports.list.as_ref().map(|e| e.ex_dir.as_str()),
        Some("/mem")
    );
    let root = match mount.mountproc3_mnt(&export).await.unwrap() {
        Mountres3::Mnt3Ok(ok) => {
            assert!(ok.auth_flavors.contains(&1), "AUTH_SYS not offered: {ok:?}");
            NfsFh3 {
                data: Opaque::new(ok.fhandle.into_inner()).unwrap(),
            }
        }
        Mountres3::Default(status) => panic!("MNT /mem: {status:?}"),
    };

    // A directory of our own, and a file in it.
    let unique = format!(
        "xdrgen-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let args = Mkdir3args {
        r#where: dirop(&root, &unique),
        attributes: sattr(0o755),
    };
    let res = nfs.nfsproc3_mkdir(&args).await.unwrap();
    let dir = created(&nfs, res, &root, &unique).await;
    let args = Create3args {
        r#where: dirop(&dir, "data.bin"),
        how: Createhow3::Unchecked(sattr(0o644)),
    };
    let res = nfs.nfsproc3_create(&args).await.unwrap();
    let file = created(&nfs, res, &dir, "data.bin").await;

    // 2 MiB in 256 KiB WRITEs (several in flight on the one connection), then read back.
    let data: Vec<u8> = (0..TOTAL).map(|i| (i * 7 + i / 4096) as u8).collect();
    let writes = data.chunks(CHUNK).enumerate().map(|(i, chunk)| {
        let args = Write3args {
            file: file.clone(),
            offset: (i * CHUNK) as u64,
            count: chunk.len() as u32,
            stable: StableHow::FileSync,
            data: Opaque::new(chunk.to_vec()).unwrap(),
        };
        let nfs = nfs.clone();
        tokio::spawn(async move { nfs.nfsproc3_write(&args).await.unwrap() })
    });
    let writes: Vec<_> = writes.collect();
    for (i, write) in writes.into_iter().enumerate() {
        match write.await.unwrap() {
            Write3res::Nfs3Ok(ok) => assert_eq!(ok.count as usize, CHUNK, "WRITE {i}"),
            Write3res::Default(status, _) => panic!("WRITE {i}: {status:?}"),
        }
    }
    assert_eq!(size_of(&nfs, &file).await, TOTAL as u64);
    let mut back = Vec::with_capacity(TOTAL);
    loop {
        let args = Read3args {
            file: file.clone(),
            offset: back.len() as u64,
            count: CHUNK as u32,
        };
        match nfs.nfsproc3_read(&args).await.unwrap() {
            Read3res::Nfs3Ok(ok) => {
                // The data ends the reply record (256 KiB: no padding after it), and nothing
                // else is in flight: its last byte is where the client's last read put it.
                if let Some(last) = ok.data.as_slice().last() {
                    assert!(
                        nfs_reads.last_read_wrote(last),
                        "READ at {}: data copied after the socket read ({:#x?}, last read {:#x?})",
                        back.len(),
                        ok.data.as_slice().as_ptr_range(),
                        nfs_reads.last()
                    );
                }
                back.extend_from_slice(&ok.data);
                if ok.eof || ok.data.is_empty() {
                    break;
                }
            }
            Read3res::Default(status, _) => panic!("READ at {}: {status:?}", back.len()),
        }
    }
    assert!(back == data, "read back {} bytes that differ", back.len());

    // READDIRPLUS lists the file with its size.
    let args = Readdirplus3args {
        dir: dir.clone(),
        cookie: 0,
        cookieverf: [0; 8],
        dircount: 4096,
        maxcount: 32768,
    };
    let listed = match nfs.nfsproc3_readdirplus(&args).await.unwrap() {
        Readdirplus3res::Nfs3Ok(ok) => {
            let mut out = Vec::new();
            let mut next = ok.reply.entries.as_ref();
            while let Some(e) = next {
                let size = match &e.name_attributes {
                    PostOpAttr::True(a) => Some(a.size),
                    PostOpAttr::False => None,
                };
                out.push((e.name.as_str().to_string(), size));
                next = e.nextentry.as_deref();
            }
            out
        }
        Readdirplus3res::Default(status, _) => panic!("READDIRPLUS: {status:?}"),
    };
    assert!(
        listed.contains(&("data.bin".to_string(), Some(TOTAL as u64))),
        "{listed:?}"
    );

    // Remove everything; the directory is gone.
    let args = Remove3args {
        object: dirop(&dir, "data.bin"),
    };
    assert!(matches!(
        nfs.nfsproc3_remove(&args).await.unwrap(),
        Remove3res::Nfs3Ok(_)
    ));
    let args = Remove3args {
        object: dirop(&root, &unique),
    };
    assert!(matches!(
        nfs.nfsproc3_rmdir(&args).await.unwrap(),
        Remove3res::Nfs3Ok(_)
    ));
    assert_eq!(
        lookup(&nfs, &root, &unique).await,
        Err(Nfsstat3::Nfs3errNoent)
    );
    mount.mountproc3_umnt(&export).await.unwrap();
}

/// A MOUNT server that only lists two exports.
struct Exports;

fn exports() -> MntExports {
    let group = |name: &str, next| MntGroupnode {
        gr_name: XdrString::try_from(name).unwrap(),
        gr_next: next,
    };
    let node = |dir: &str, groups, next| MntExportnode {
        ex_dir: XdrString::try_from(dir).unwrap(),
        ex_groups: groups,
        ex_next: next,
    };
    let second = node("/xdrgen/public", None, None);
    let groups = group("client-a", Some(Box::new(group("client-b", None))));
    MntExports {
        list: Some(node("/xdrgen/export", Some(groups), Some(Box::new(second)))),
    }
}

impl MountV1Server for Exports {
    async fn mountproc_export(&self, _cx: &Context) -> Result<MntExports, CallError> {
        Ok(exports())
    }
}

impl MountV3Server for Exports {
    async fn mountproc3_export(&self, _cx: &Context) -> Result<MntExports, CallError> {
        Ok(exports())
    }
}

/// rpcbind's entries (version 4 DUMP through its local socket) of one program.
async fn entries_of(rpcbind: &RbVers4Client, program: u32) -> Vec<RbRpcb> {
    let dump = rpcbind.dump().await.unwrap();
    let mut out = Vec::new();
    let mut next = dump.list.as_ref();
    while let Some(e) = next {
        if e.rpcb_map.r_prog == program {
            out.push(e.rpcb_map.clone());
        }
        next = e.rpcb_next.as_deref();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn showmount_lists_the_exports_of_our_mount_server() {
    if !onc_peers::ensure() {
        return;
    }
    let _lock = onc_peers::registration_lock().await;
    // nfs-ganesha's MOUNT entries make way for ours (one MOUNT per host in rpcbind), and are
    // put back afterwards whatever happens in between.
    let local = tokio::net::UnixStream::connect("/run/rpcbind.sock")
        .await
        .unwrap();
    let rpcb = RbVers4Client::new(Client::over_stream(local, &Options::default()));
    let program = MountV3Client::INFO.number;
    let ganesha = entries_of(&rpcb, program).await;
    assert!(!ganesha.is_empty(), "no MOUNT server registered");

    let server = Server::builder()
        .program(MountV1Dispatcher::new(Exports))
        .program(MountV3Dispatcher::new(Exports))
        .build();
    let (tcp, udp) = onc_peers::serve_on_loopback(&server).await;
    let (tcp, udp) = (tcp.port(), udp.port());

    let outcome: Result<String, String> = async {
        let rpcbind = portmap::connect_local().await.map_err(|e| e.to_string())?;
        let registration = server
            .register(&rpcbind, Some(tcp), Some(udp))
            .await
            .map_err(|e| e.to_string())?;
        let out = tokio::task::spawn_blocking(|| {
            std::process::Command::new("showmount")
                .args(["-e", "127.0.0.1"])
                .output()
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        registration.unregister().await.map_err(|e| e.to_string())?;
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
    .await;

    for entry in &ganesha {
        rpcb.set(entry).await.unwrap();
    }
    assert_eq!(entries_of(&rpcb, program).await.len(), ganesha.len());
    let text = outcome.unwrap();
    assert!(text.contains("/xdrgen/export client-a,client-b"), "{text}");
    assert!(text.contains("/xdrgen/public (everyone)"), "{text}");
}
