//! `Lvirtd`: the generated `RemoteServer` trait served from the in-memory [`Driver`]. Each
//! group of procedures is a section of the one `impl`: connection (open, close, features,
//! versions, host), domains (lookup, info, XML, life cycle) and events. Procedures left out
//! answer libvirt's "not supported" (the trait's default). Stream procedures return their
//! reply with the stream's body: the screenshot sends [`build_example::png::screenshot_png`]
//! (a `SendData`), a volume download sends the volume's bytes (holes for zeros when sparse),
//! a volume upload (a `ReceiveData`) writes the client's data into the volume.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use protocols::remote_protocol::*;
use xdrgen_runtime::libvirt::server::{Context, ReceiveData, SendData, StreamSink};
use xdrgen_runtime::libvirt::Chunk;
use xdrgen_runtime::libvirt::RemoteError;

use crate::driver::{self, Driver, Events, NODE};
use crate::events::Callbacks;
use crate::storage::{self, Storage, Volume};

/// A connection's state once connect-open succeeded.
#[derive(Debug)]
pub struct Opened {
    /// Opened with `VIR_CONNECT_RO` (bit 0 of the flags).
    pub read_only: bool,
}

/// libvirt features (`VIR_DRV_FEATURE_*`) that connect-supports-feature reports.
mod feature {
    /// `VIR_DRV_FEATURE_TYPED_PARAM_STRING`.
    pub const TYPED_PARAM_STRING: i32 = 8;
    /// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`: answered before open, as libvirtd does.
    pub const PROGRAM_KEEPALIVE: i32 = 10;
    /// `VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK`: events through 316/317 and 318.
    pub const REMOTE_EVENT_CALLBACK: i32 = 14;
    /// `VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK`: register-close-callback (360/361).
    pub const REMOTE_CLOSE_CALLBACK: i32 = 15;
}

/// The hypervisor type, hypervisor version and daemon version lvirtd reports: those of
/// libvirtd 9.0.0's test driver, so that `virsh version` prints the same.
const HV_TYPE: &str = "TEST";
const HV_VERSION: u64 = 2;
const LIB_VERSION: u64 = 9_000_000;
/// The URI connect-get-uri answers.
const URI: &str = "test:///default";

/// `virConnectListAllDomainsFlags` filter pairs.
const LIST_ACTIVE: u32 = 1;
const LIST_INACTIVE: u32 = 2;
const LIST_PERSISTENT: u32 = 4;
const LIST_TRANSIENT: u32 = 8;
const LIST_RUNNING: u32 = 16;
const LIST_PAUSED: u32 = 32;
const LIST_SHUTOFF: u32 = 64;
const LIST_OTHER: u32 = 128;
const LIST_AUTOSTART: u32 = 1024;
const LIST_NO_AUTOSTART: u32 = 2048;

/// `VIR_DOMAIN_XML_INACTIVE`.
const XML_INACTIVE: u32 = 2;

/// The in-memory hypervisor behind the generated `RemoteServer` trait.
#[derive(Debug, Default)]
pub struct Lvirtd {
    driver: Mutex<Driver>,
    storage: Mutex<Storage>,
    callbacks: Callbacks,
}

/// A string the protocol can carry (lvirtd's own strings always fit).
fn s(v: &str) -> RemoteNonnullString {
    v.try_into().unwrap_or_default()
}

/// A C string as the protocol carries security labels: its bytes and the NUL.
fn c_chars<const N: u32>(v: &str) -> xdrgen_runtime::codegen::VarArray<i8, N> {
    let bytes: Vec<i8> = v.bytes().chain([0]).map(|b| b as i8).collect();
    bytes.try_into().unwrap_or_default()
}

/// The error of a call made before connect-open.
fn not_open() -> RemoteError {
    RemoteError::internal("hypervisor connection not open")
}

/// Fails with libvirt's error unless connect-open succeeded on the call's connection.
fn opened(cx: &Context) -> Result<(), RemoteError> {
    match cx.connection().state::<Opened>() {
        Some(_) => Ok(()),
        None => Err(not_open()),
    }
}

/// The access hook: a read-only connection may only call procedures whose `@acl` asks for
/// nothing beyond reading (`getattr`, `read`, `search_*`), as libvirtd's read-only socket.
pub fn read_only_access(cx: &Context) -> Result<(), Box<RemoteError>> {
    let read_only = cx
        .connection()
        .state::<Opened>()
        .is_some_and(|o| o.read_only);
    let reads = |acl: &&str| {
        let perm = acl.split(':').nth(1).unwrap_or("");
        acl == &"none" || perm == "getattr" || perm == "read" || perm.starts_with("search_")
    };
    if read_only && !cx.procedure().acl.iter().all(reads) {
        let name = cx.procedure().name;
        return Err(Box::new(RemoteError::new(
            6, // VIR_ERR_OPERATION_DENIED
            0,
            "operation forbidden: %s",
            &format!("read only access prevents {name}"),
        )));
    }
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

impl Lvirtd {
    /// A hypervisor in the test driver's start state.
    pub fn new() -> Lvirtd {
        Lvirtd::default()
    }

    /// The driver, if the connection is open.
    fn driver(&self, cx: &Context) -> Result<MutexGuard<'_, Driver>, RemoteError> {
        if cx.connection().state::<Opened>().is_none() {
            return Err(not_open());
        }
        Ok(self.driver.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs a life-cycle operation and sends the events it caused.
    fn change(
        &self,
        cx: &Context,
        op: impl FnOnce(&mut Driver) -> Result<Events, RemoteError>,
    ) -> Result<(), RemoteError> {
        let events = op(&mut *self.driver(cx)?)?;
        self.callbacks.send(&events);
        Ok(())
    }

    /// The storage pool, if the connection is open.
    fn storage(&self, cx: &Context) -> Result<MutexGuard<'_, Storage>, RemoteError> {
        opened(cx)?;
        Ok(self.storage.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A volume, looked up by its protocol name, after checking the pool.
    fn volume(
        &self,
        cx: &Context,
        vol: &RemoteNonnullStorageVol,
    ) -> Result<Arc<Volume>, RemoteError> {
        self.storage(cx)?.vol(vol)
    }

    /// A domain's value, looked up by UUID.
    fn with<R>(
        &self,
        cx: &Context,
        dom: &RemoteNonnullDomain,
        f: impl FnOnce(&driver::Domain) -> R,
    ) -> Result<R, RemoteError> {
        Ok(f(self.driver(cx)?.get(dom)?))
    }
}

fn keep(flags: u32, yes: u32, no: u32, is: bool) -> bool {
    let (y, n) = (flags & yes != 0, flags & no != 0);
    y == n || (is && y) || (!is && n)
}

impl RemoteServer for Lvirtd {
    // ---- connection ----

    async fn auth_list(&self, _cx: &Context) -> Result<RemoteAuthListRet, RemoteError> {
        Ok(RemoteAuthListRet {
            types: vec![RemoteAuthType::None].try_into().unwrap_or_default(),
        })
    }

    async fn connect_supports_feature(
        &self,
        cx: &Context,
        args: RemoteConnectSupportsFeatureArgs,
    ) -> Result<RemoteConnectSupportsFeatureRet, RemoteError> {
        let opened = cx.connection().state::<Opened>().is_some();
        let supported = match args.feature {
            feature::PROGRAM_KEEPALIVE => {
                // As libvirtd: a client that asks gets PINGed when idle from now on.
                cx.connection().start_keepalive();
                1
            }
            _ if !opened => return Err(not_open()),
            feature::REMOTE_EVENT_CALLBACK
            | feature::REMOTE_CLOSE_CALLBACK
            | feature::TYPED_PARAM_STRING => 1,
            _ => 0,
        };
        Ok(RemoteConnectSupportsFeatureRet { supported })
    }

    async fn connect_open(
        &self,
        cx: &Context,
        args: RemoteConnectOpenArgs,
    ) -> Result<(), RemoteError> {
        let name: &str = match &args.name {
            Some(n) => driver::text(n)?,
            None => "",
        };
        if !matches!(name, "" | URI | "test:///default/") {
            return Err(RemoteError::new(
                5, // VIR_ERR_NO_CONNECT
                0,
                "no connection driver available for %s",
                name,
            ));
        }
        cx.connection().set_state(Opened {
            read_only: args.flags & 1 != 0,
        });
        Ok(())
    }

    async fn connect_close(&self, cx: &Context) -> Result<(), RemoteError> {
        self.callbacks.forget(cx.connection());
        cx.connection().remove_state::<Opened>();
        cx.close_after_reply();
        Ok(())
    }

    async fn connect_register_close_callback(&self, cx: &Context) -> Result<(), RemoteError> {
        opened(cx)
    }

    async fn connect_unregister_close_callback(&self, cx: &Context) -> Result<(), RemoteError> {
        opened(cx)
    }

    async fn connect_get_type(&self, cx: &Context) -> Result<RemoteConnectGetTypeRet, RemoteError> {
        opened(cx)?;
        Ok(RemoteConnectGetTypeRet { r#type: s(HV_TYPE) })
    }

    async fn connect_get_version(
        &self,
        cx: &Context,
    ) -> Result<RemoteConnectGetVersionRet, RemoteError> {
        opened(cx)?;
        Ok(RemoteConnectGetVersionRet { hv_ver: HV_VERSION })
    }

    async fn connect_get_lib_version(
        &self,
        _cx: &Context,
    ) -> Result<RemoteConnectGetLibVersionRet, RemoteError> {
        Ok(RemoteConnectGetLibVersionRet {
            lib_ver: LIB_VERSION,
        })
    }

    async fn connect_get_hostname(
        &self,
        cx: &Context,
    ) -> Result<RemoteConnectGetHostnameRet, RemoteError> {
        opened(cx)?;
        Ok(RemoteConnectGetHostnameRet {
            hostname: s(&hostname()),
        })
    }

    async fn connect_get_uri(&self, cx: &Context) -> Result<RemoteConnectGetUriRet, RemoteError> {
        opened(cx)?;
        Ok(RemoteConnectGetUriRet { uri: s(URI) })
    }

    async fn connect_is_secure(
        &self,
        cx: &Context,
    ) -> Result<RemoteConnectIsSecureRet, RemoteError> {
        opened(cx)?;
        Ok(RemoteConnectIsSecureRet { secure: 1 })
    }

    async fn node_get_info(&self, cx: &Context) -> Result<RemoteNodeGetInfoRet, RemoteError> {
        opened(cx)?;
        let mut model = [0i8; 32];
        for (m, b) in model.iter_mut().zip(NODE.model.bytes()) {
            *m = b as i8;
        }
        Ok(RemoteNodeGetInfoRet {
            model,
            memory: NODE.memory,
            cpus: NODE.cpus,
            mhz: NODE.mhz,
            nodes: NODE.nodes,
            sockets: NODE.sockets,
            cores: NODE.cores,
            threads: NODE.threads,
        })
    }

    async fn node_get_security_model(
        &self,
        cx: &Context,
    ) -> Result<RemoteNodeGetSecurityModelRet, RemoteError> {
        opened(cx)?;
        Ok(RemoteNodeGetSecurityModelRet {
            model: c_chars("testSecurity"),
            doi: c_chars(""),
        })
    }

    // ---- domains: listing and lookup ----

    async fn connect_list_all_domains(
        &self,
        cx: &Context,
        args: RemoteConnectListAllDomainsArgs,
    ) -> Result<RemoteConnectListAllDomainsRet, RemoteError> {
        let drv = self.driver(cx)?;
        let f = args.flags;
        let picked: Vec<RemoteNonnullDomain> = drv
            .domains()
            .iter()
            .filter(|d| {
                use driver::state::*;
                let other = !matches!(d.state, RUNNING | PAUSED | SHUTOFF);
                keep(f, LIST_ACTIVE, LIST_INACTIVE, d.is_active())
                    && keep(f, LIST_PERSISTENT, LIST_TRANSIENT, d.persistent)
                    && keep(f, LIST_AUTOSTART, LIST_NO_AUTOSTART, d.autostart)
                    && (f & (LIST_RUNNING | LIST_PAUSED | LIST_SHUTOFF | LIST_OTHER) == 0
                        || (f & LIST_RUNNING != 0 && d.state == RUNNING)
                        || (f & LIST_PAUSED != 0 && d.state == PAUSED)
                        || (f & LIST_SHUTOFF != 0 && d.state == SHUTOFF)
                        || (f & LIST_OTHER != 0 && other))
            })
            .map(driver::Domain::remote)
            .collect();
        let count = picked.len() as u32;
        let domains = if args.need_results != 0 {
            picked
        } else {
            Vec::new()
        };
        Ok(RemoteConnectListAllDomainsRet {
            domains: domains
                .try_into()
                .map_err(|_| RemoteError::internal("too many domains"))?,
            ret: count,
        })
    }

    async fn connect_num_of_domains(
        &self,
        cx: &Context,
    ) -> Result<RemoteConnectNumOfDomainsRet, RemoteError> {
        let drv = self.driver(cx)?;
        let num = drv.domains().iter().filter(|d| d.is_active()).count() as i32;
        Ok(RemoteConnectNumOfDomainsRet { num })
    }

    async fn connect_num_of_defined_domains(
        &self,
        cx: &Context,
    ) -> Result<RemoteConnectNumOfDefinedDomainsRet, RemoteError> {
        let drv = self.driver(cx)?;
        let num = drv.domains().iter().filter(|d| !d.is_active()).count() as i32;
        Ok(RemoteConnectNumOfDefinedDomainsRet { num })
    }

    async fn domain_lookup_by_name(
        &self,
        cx: &Context,
        args: RemoteDomainLookupByNameArgs,
    ) -> Result<RemoteDomainLookupByNameRet, RemoteError> {
        let dom = self
            .driver(cx)?
            .by_name(driver::text(&args.name)?)?
            .remote();
        Ok(RemoteDomainLookupByNameRet { dom })
    }

    async fn domain_lookup_by_uuid(
        &self,
        cx: &Context,
        args: RemoteDomainLookupByUuidArgs,
    ) -> Result<RemoteDomainLookupByUuidRet, RemoteError> {
        let dom = self.driver(cx)?.by_uuid(&args.uuid)?.remote();
        Ok(RemoteDomainLookupByUuidRet { dom })
    }

    async fn domain_lookup_by_id(
        &self,
        cx: &Context,
        args: RemoteDomainLookupByIdArgs,
    ) -> Result<RemoteDomainLookupByIdRet, RemoteError> {
        let dom = self.driver(cx)?.by_id(args.id)?.remote();
        Ok(RemoteDomainLookupByIdRet { dom })
    }

    // ---- domains: information ----

    async fn domain_get_info(
        &self,
        cx: &Context,
        args: RemoteDomainGetInfoArgs,
    ) -> Result<RemoteDomainGetInfoRet, RemoteError> {
        self.with(cx, &args.dom, |d| RemoteDomainGetInfoRet {
            state: d.state as u8,
            max_mem: d.def.memory,
            memory: d.def.current_memory,
            nr_virt_cpu: d.def.vcpus,
            cpu_time: driver::cpu_time(),
        })
    }

    async fn domain_get_state(
        &self,
        cx: &Context,
        args: RemoteDomainGetStateArgs,
    ) -> Result<RemoteDomainGetStateRet, RemoteError> {
        self.with(cx, &args.dom, |d| RemoteDomainGetStateRet {
            state: d.state,
            reason: d.reason,
        })
    }

    async fn domain_get_xml_desc(
        &self,
        cx: &Context,
        args: RemoteDomainGetXmlDescArgs,
    ) -> Result<RemoteDomainGetXmlDescRet, RemoteError> {
        let xml = self.with(cx, &args.dom, |d| d.xml(args.flags & XML_INACTIVE != 0))?;
        Ok(RemoteDomainGetXmlDescRet {
            xml: xml
                .try_into()
                .map_err(|_| RemoteError::internal("domain XML too large"))?,
        })
    }

    async fn domain_get_os_type(
        &self,
        cx: &Context,
        args: RemoteDomainGetOsTypeArgs,
    ) -> Result<RemoteDomainGetOsTypeRet, RemoteError> {
        // The test driver names every guest's OS "linux".
        self.with(cx, &args.dom, |_| RemoteDomainGetOsTypeRet {
            r#type: s("linux"),
        })
    }

    async fn domain_get_max_memory(
        &self,
        cx: &Context,
        args: RemoteDomainGetMaxMemoryArgs,
    ) -> Result<RemoteDomainGetMaxMemoryRet, RemoteError> {
        self.with(cx, &args.dom, |d| RemoteDomainGetMaxMemoryRet {
            memory: d.def.memory,
        })
    }

    async fn domain_is_active(
        &self,
        cx: &Context,
        args: RemoteDomainIsActiveArgs,
    ) -> Result<RemoteDomainIsActiveRet, RemoteError> {
        self.with(cx, &args.dom, |d| RemoteDomainIsActiveRet {
            active: d.is_active() as i32,
        })
    }

    async fn domain_is_persistent(
        &self,
        cx: &Context,
        args: RemoteDomainIsPersistentArgs,
    ) -> Result<RemoteDomainIsPersistentRet, RemoteError> {
        self.with(cx, &args.dom, |d| RemoteDomainIsPersistentRet {
            persistent: d.persistent as i32,
        })
    }

    async fn domain_is_updated(
        &self,
        cx: &Context,
        args: RemoteDomainIsUpdatedArgs,
    ) -> Result<RemoteDomainIsUpdatedRet, RemoteError> {
        self.with(cx, &args.dom, |_| RemoteDomainIsUpdatedRet { updated: 0 })
    }

    async fn domain_get_autostart(
        &self,
        cx: &Context,
        args: RemoteDomainGetAutostartArgs,
    ) -> Result<RemoteDomainGetAutostartRet, RemoteError> {
        self.with(cx, &args.dom, |d| RemoteDomainGetAutostartRet {
            autostart: d.autostart as i32,
        })
    }

    async fn domain_set_autostart(
        &self,
        cx: &Context,
        args: RemoteDomainSetAutostartArgs,
    ) -> Result<(), RemoteError> {
        self.driver(cx)?
            .set_autostart(&args.dom, args.autostart != 0)
    }

    async fn domain_has_managed_save_image(
        &self,
        cx: &Context,
        args: RemoteDomainHasManagedSaveImageArgs,
    ) -> Result<RemoteDomainHasManagedSaveImageRet, RemoteError> {
        self.with(cx, &args.dom, |_| RemoteDomainHasManagedSaveImageRet {
            result: 0,
        })
    }

    async fn domain_snapshot_num(
        &self,
        cx: &Context,
        args: RemoteDomainSnapshotNumArgs,
    ) -> Result<RemoteDomainSnapshotNumRet, RemoteError> {
        self.with(cx, &args.dom, |_| RemoteDomainSnapshotNumRet { num: 0 })
    }

    async fn domain_get_security_label(
        &self,
        cx: &Context,
        args: RemoteDomainGetSecurityLabelArgs,
    ) -> Result<RemoteDomainGetSecurityLabelRet, RemoteError> {
        // The test driver labels running domains only.
        self.with(cx, &args.dom, |d| {
            let active = d.is_active();
            RemoteDomainGetSecurityLabelRet {
                label: c_chars(if active { "libvirt-test" } else { "" }),
                enforcing: active as i32,
            }
        })
    }

    async fn domain_get_messages(
        &self,
        cx: &Context,
        args: RemoteDomainGetMessagesArgs,
    ) -> Result<RemoteDomainGetMessagesRet, RemoteError> {
        self.with(cx, &args.dom, |_| RemoteDomainGetMessagesRet {
            msgs: Default::default(),
        })
    }

    async fn domain_screenshot(
        &self,
        cx: &Context,
        args: RemoteDomainScreenshotArgs,
    ) -> Result<(RemoteDomainScreenshotRet, SendData), RemoteError> {
        // As the test driver: any screen of a running domain shows the same picture.
        let running = self.with(cx, &args.dom, |d| d.is_active())?;
        if !running {
            return Err(driver::invalid("domain is not running"));
        }
        let png = Bytes::from(build_example::png::screenshot_png());
        let body = SendData::new(move |mut sink| async move {
            sink.send(png).await?;
            sink.finish().await
        });
        let mime = Some(s("image/png"));
        Ok((RemoteDomainScreenshotRet { mime }, body))
    }

    // ---- domains: definition and life cycle ----

    async fn domain_define_xml(
        &self,
        cx: &Context,
        args: RemoteDomainDefineXmlArgs,
    ) -> Result<RemoteDomainDefineXmlRet, RemoteError> {
        let (d, events) = self.driver(cx)?.define(driver::text(&args.xml)?)?;
        self.callbacks.send(&events);
        Ok(RemoteDomainDefineXmlRet { dom: d.remote() })
    }

    async fn domain_define_xml_flags(
        &self,
        cx: &Context,
        args: RemoteDomainDefineXmlFlagsArgs,
    ) -> Result<RemoteDomainDefineXmlFlagsRet, RemoteError> {
        let (d, events) = self.driver(cx)?.define(driver::text(&args.xml)?)?;
        self.callbacks.send(&events);
        Ok(RemoteDomainDefineXmlFlagsRet { dom: d.remote() })
    }

    async fn domain_create_xml(
        &self,
        cx: &Context,
        args: RemoteDomainCreateXmlArgs,
    ) -> Result<RemoteDomainCreateXmlRet, RemoteError> {
        let (d, events) = self.driver(cx)?.create_xml(driver::text(&args.xml_desc)?)?;
        self.callbacks.send(&events);
        Ok(RemoteDomainCreateXmlRet { dom: d.remote() })
    }

    async fn domain_undefine(
        &self,
        cx: &Context,
        args: RemoteDomainUndefineArgs,
    ) -> Result<(), RemoteError> {
        self.change(cx, |drv| drv.undefine(&args.dom))
    }

    async fn domain_undefine_flags(
        &self,
        cx: &Context,
        args: RemoteDomainUndefineFlagsArgs,
    ) -> Result<(), RemoteError> {
        self.change(cx, |drv| drv.undefine(&args.dom))
    }

    async fn domain_create(
        &self,
        cx: &Context,
        args: RemoteDomainCreateArgs,
    ) -> Result<(), RemoteError> {
        self.change(cx, |drv| drv.start(&args.dom))
    }

    async fn domain_create_with_flags(
        &self,
        cx: &Context,
        args: RemoteDomainCreateWithFlagsArgs,
    ) -> Result<RemoteDomainCreateWithFlagsRet, RemoteError> {
        self.change(cx, |drv| drv.start(&args.dom))?;
        let dom = self.driver(cx)?.get(&args.dom)?.remote();
        Ok(RemoteDomainCreateWithFlagsRet { dom })
    }

    async fn domain_destroy(
        &self,
        cx: &Context,
        args: RemoteDomainDestroyArgs,
    ) -> Result<(), RemoteError> {
        self.change(cx, |drv| drv.destroy(&args.dom))
    }

    async fn domain_destroy_flags(
        &self,
        cx: &Context,
        args: RemoteDomainDestroyFlagsArgs,
    ) -> Result<(), RemoteError> {
        self.change(cx, |drv| drv.destroy(&args.dom))
    }

    async fn domain_shutdown(
        &self,
        cx: &Context,
        args: RemoteDomainShutdownArgs,
    ) -> Result<(), RemoteError> {
        self.change(cx, |drv| drv.shutdown(&args.dom))
    }

    async fn domain_shutdown_flags(
        &self,
        cx: &Context,
        args: RemoteDomainShutdownFlagsArgs,
    ) -> Result<(), RemoteError> {
        self.change(cx, |drv| drv.shutdown(&args.dom))
    }

    async fn domain_suspend(
        &self,
        cx: &Context,
        args: RemoteDomainSuspendArgs,
    ) -> Result<(), RemoteError> {
        self.change(cx, |drv| drv.suspend(&args.dom))
    }

    async fn domain_resume(
        &self,
        cx: &Context,
        args: RemoteDomainResumeArgs,
    ) -> Result<(), RemoteError> {
        self.change(cx, |drv| drv.resume(&args.dom))
    }

    // ---- events ----

    async fn connect_domain_event_callback_register_any(
        &self,
        cx: &Context,
        args: RemoteConnectDomainEventCallbackRegisterAnyArgs,
    ) -> Result<RemoteConnectDomainEventCallbackRegisterAnyRet, RemoteError> {
        if let Some(dom) = &args.dom {
            self.driver(cx)?.get(dom)?;
        } else {
            opened(cx)?;
        }
        let callback_id =
            self.callbacks
                .register(cx.connection(), args.event_id, args.dom.as_ref())?;
        Ok(RemoteConnectDomainEventCallbackRegisterAnyRet { callback_id })
    }

    async fn connect_domain_event_callback_deregister_any(
        &self,
        cx: &Context,
        args: RemoteConnectDomainEventCallbackDeregisterAnyArgs,
    ) -> Result<(), RemoteError> {
        opened(cx)?;
        self.callbacks.deregister(cx.connection(), args.callback_id)
    }

    // ---- storage: the pool ----

    async fn connect_list_all_storage_pools(
        &self,
        cx: &Context,
        args: RemoteConnectListAllStoragePoolsArgs,
    ) -> Result<RemoteConnectListAllStoragePoolsRet, RemoteError> {
        opened(cx)?;
        // One pool, active and persistent: kept unless the flags ask for inactive or
        // transient pools only.
        const INACTIVE: u32 = 1;
        const ACTIVE: u32 = 2;
        const PERSISTENT: u32 = 4;
        const TRANSIENT: u32 = 8;
        let f = args.flags;
        let kept = keep(f, ACTIVE, INACTIVE, true) && keep(f, PERSISTENT, TRANSIENT, true);
        let pools = if kept {
            vec![storage::pool()]
        } else {
            Vec::new()
        };
        let ret = pools.len() as u32;
        let pools = if args.need_results != 0 {
            pools
        } else {
            Vec::new()
        };
        Ok(RemoteConnectListAllStoragePoolsRet {
            pools: pools.try_into().unwrap_or_default(),
            ret,
        })
    }

    async fn connect_num_of_storage_pools(
        &self,
        cx: &Context,
    ) -> Result<RemoteConnectNumOfStoragePoolsRet, RemoteError> {
        opened(cx)?;
        Ok(RemoteConnectNumOfStoragePoolsRet { num: 1 })
    }

    async fn storage_pool_lookup_by_name(
        &self,
        cx: &Context,
        args: RemoteStoragePoolLookupByNameArgs,
    ) -> Result<RemoteStoragePoolLookupByNameRet, RemoteError> {
        let pool = self.storage(cx)?.pool_by_name(driver::text(&args.name)?)?;
        Ok(RemoteStoragePoolLookupByNameRet { pool })
    }

    async fn storage_pool_lookup_by_uuid(
        &self,
        cx: &Context,
        args: RemoteStoragePoolLookupByUuidArgs,
    ) -> Result<RemoteStoragePoolLookupByUuidRet, RemoteError> {
        let pool = self.storage(cx)?.pool_by_uuid(&args.uuid)?;
        Ok(RemoteStoragePoolLookupByUuidRet { pool })
    }

    async fn storage_pool_lookup_by_volume(
        &self,
        cx: &Context,
        args: RemoteStoragePoolLookupByVolumeArgs,
    ) -> Result<RemoteStoragePoolLookupByVolumeRet, RemoteError> {
        self.volume(cx, &args.vol)?;
        Ok(RemoteStoragePoolLookupByVolumeRet {
            pool: storage::pool(),
        })
    }

    async fn storage_pool_get_info(
        &self,
        cx: &Context,
        args: RemoteStoragePoolGetInfoArgs,
    ) -> Result<RemoteStoragePoolGetInfoRet, RemoteError> {
        let st = self.storage(cx)?;
        st.check_pool(&args.pool)?;
        let allocation = st.allocation();
        Ok(RemoteStoragePoolGetInfoRet {
            state: 2, // VIR_STORAGE_POOL_RUNNING
            capacity: storage::POOL_CAPACITY,
            allocation,
            available: storage::POOL_CAPACITY - allocation,
        })
    }

    async fn storage_pool_get_xml_desc(
        &self,
        cx: &Context,
        args: RemoteStoragePoolGetXmlDescArgs,
    ) -> Result<RemoteStoragePoolGetXmlDescRet, RemoteError> {
        let st = self.storage(cx)?;
        st.check_pool(&args.pool)?;
        Ok(RemoteStoragePoolGetXmlDescRet {
            xml: s(&storage::pool_xml(st.allocation())),
        })
    }

    async fn storage_pool_get_autostart(
        &self,
        cx: &Context,
        args: RemoteStoragePoolGetAutostartArgs,
    ) -> Result<RemoteStoragePoolGetAutostartRet, RemoteError> {
        self.storage(cx)?.check_pool(&args.pool)?;
        Ok(RemoteStoragePoolGetAutostartRet { autostart: 0 })
    }

    async fn storage_pool_is_active(
        &self,
        cx: &Context,
        args: RemoteStoragePoolIsActiveArgs,
    ) -> Result<RemoteStoragePoolIsActiveRet, RemoteError> {
        self.storage(cx)?.check_pool(&args.pool)?;
        Ok(RemoteStoragePoolIsActiveRet { active: 1 })
    }

    async fn storage_pool_is_persistent(
        &self,
        cx: &Context,
        args: RemoteStoragePoolIsPersistentArgs,
    ) -> Result<RemoteStoragePoolIsPersistentRet, RemoteError> {
        self.storage(cx)?.check_pool(&args.pool)?;
        Ok(RemoteStoragePoolIsPersistentRet { persistent: 1 })
    }

    async fn storage_pool_refresh(
        &self,
        cx: &Context,
        args: RemoteStoragePoolRefreshArgs,
    ) -> Result<(), RemoteError> {
        // Nothing to rescan: the volumes live in memory.
        self.storage(cx)?.check_pool(&args.pool)
    }

    async fn storage_pool_num_of_volumes(
        &self,
        cx: &Context,
        args: RemoteStoragePoolNumOfVolumesArgs,
    ) -> Result<RemoteStoragePoolNumOfVolumesRet, RemoteError> {
        let st = self.storage(cx)?;
        st.check_pool(&args.pool)?;
        Ok(RemoteStoragePoolNumOfVolumesRet {
            num: st.volumes().len() as i32,
        })
    }

    async fn storage_pool_list_all_volumes(
        &self,
        cx: &Context,
        args: RemoteStoragePoolListAllVolumesArgs,
    ) -> Result<RemoteStoragePoolListAllVolumesRet, RemoteError> {
        let st = self.storage(cx)?;
        st.check_pool(&args.pool)?;
        let vols: Vec<_> = st.volumes().iter().map(|v| v.remote()).collect();
        let ret = vols.len() as u32;
        let vols = if args.need_results != 0 {
            vols
        } else {
            Vec::new()
        };
        Ok(RemoteStoragePoolListAllVolumesRet {
            vols: vols
                .try_into()
                .map_err(|_| RemoteError::internal("too many volumes"))?,
            ret,
        })
    }

    // ---- storage: volumes ----

    async fn storage_vol_create_xml(
        &self,
        cx: &Context,
        args: RemoteStorageVolCreateXmlArgs,
    ) -> Result<RemoteStorageVolCreateXmlRet, RemoteError> {
        let mut st = self.storage(cx)?;
        st.check_pool(&args.pool)?;
        let vol = st.create(driver::text(&args.xml)?)?.remote();
        Ok(RemoteStorageVolCreateXmlRet { vol })
    }

    async fn storage_vol_delete(
        &self,
        cx: &Context,
        args: RemoteStorageVolDeleteArgs,
    ) -> Result<(), RemoteError> {
        self.storage(cx)?.delete(&args.vol)
    }

    async fn storage_vol_lookup_by_name(
        &self,
        cx: &Context,
        args: RemoteStorageVolLookupByNameArgs,
    ) -> Result<RemoteStorageVolLookupByNameRet, RemoteError> {
        let st = self.storage(cx)?;
        st.check_pool(&args.pool)?;
        let vol = st.vol_by_name(driver::text(&args.name)?)?.remote();
        Ok(RemoteStorageVolLookupByNameRet { vol })
    }

    async fn storage_vol_lookup_by_key(
        &self,
        cx: &Context,
        args: RemoteStorageVolLookupByKeyArgs,
    ) -> Result<RemoteStorageVolLookupByKeyRet, RemoteError> {
        let vol = self
            .storage(cx)?
            .vol_by_path(driver::text(&args.key)?)?
            .remote();
        Ok(RemoteStorageVolLookupByKeyRet { vol })
    }

    async fn storage_vol_lookup_by_path(
        &self,
        cx: &Context,
        args: RemoteStorageVolLookupByPathArgs,
    ) -> Result<RemoteStorageVolLookupByPathRet, RemoteError> {
        let vol = self
            .storage(cx)?
            .vol_by_path(driver::text(&args.path)?)?
            .remote();
        Ok(RemoteStorageVolLookupByPathRet { vol })
    }

    async fn storage_vol_get_info(
        &self,
        cx: &Context,
        args: RemoteStorageVolGetInfoArgs,
    ) -> Result<RemoteStorageVolGetInfoRet, RemoteError> {
        let v = self.volume(cx, &args.vol)?;
        Ok(RemoteStorageVolGetInfoRet {
            r#type: 0, // VIR_STORAGE_VOL_FILE
            capacity: v.capacity,
            allocation: v.allocation(),
        })
    }

    async fn storage_vol_get_info_flags(
        &self,
        cx: &Context,
        args: RemoteStorageVolGetInfoFlagsArgs,
    ) -> Result<RemoteStorageVolGetInfoFlagsRet, RemoteError> {
        let v = self.volume(cx, &args.vol)?;
        Ok(RemoteStorageVolGetInfoFlagsRet {
            r#type: 0, // VIR_STORAGE_VOL_FILE
            capacity: v.capacity,
            allocation: v.allocation(),
        })
    }

    async fn storage_vol_get_path(
        &self,
        cx: &Context,
        args: RemoteStorageVolGetPathArgs,
    ) -> Result<RemoteStorageVolGetPathRet, RemoteError> {
        let v = self.volume(cx, &args.vol)?;
        Ok(RemoteStorageVolGetPathRet { name: s(&v.path()) })
    }

    async fn storage_vol_get_xml_desc(
        &self,
        cx: &Context,
        args: RemoteStorageVolGetXmlDescArgs,
    ) -> Result<RemoteStorageVolGetXmlDescRet, RemoteError> {
        let v = self.volume(cx, &args.vol)?;
        Ok(RemoteStorageVolGetXmlDescRet { xml: s(&v.xml()) })
    }

    async fn storage_vol_upload(
        &self,
        cx: &Context,
        args: RemoteStorageVolUploadArgs,
    ) -> Result<((), ReceiveData), RemoteError> {
        let v = self.volume(cx, &args.vol)?;
        let (start, end) = range(&v, args.offset, args.length)?;
        let body = ReceiveData::new(move |mut source| async move {
            let mut at = start;
            while let Some(chunk) = source.next_chunk().await {
                let (len, data) = match chunk? {
                    Chunk::Data(d) => (d.len() as u64, Some(d)),
                    Chunk::Hole(n) => (n, None),
                };
                if at + len > end {
                    return Err(driver::invalid(&format!(
                        "more data than the {} bytes asked for",
                        end - start
                    )));
                }
                match data {
                    Some(d) => v.write_at(at, &d)?,
                    None => v.zero_at(at, len)?,
                }
                at += len;
            }
            Ok(())
        });
        Ok(((), body.sparse(args.flags & SPARSE_STREAM != 0)))
    }

    async fn storage_vol_download(
        &self,
        cx: &Context,
        args: RemoteStorageVolDownloadArgs,
    ) -> Result<((), SendData), RemoteError> {
        let v = self.volume(cx, &args.vol)?;
        let (start, end) = range(&v, args.offset, args.length)?;
        let sparse = args.flags & SPARSE_STREAM != 0;
        let body = SendData::new(move |sink| send_volume(sink, v, start, end, sparse));
        Ok(((), body.sparse(sparse)))
    }
}

/// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM` and `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`.
const SPARSE_STREAM: u32 = 1;

/// How much of a volume a download reads at a time.
const DOWNLOAD_PIECE: usize = 256 << 10;

/// The byte range `offset..offset + length` of a volume (`length` 0: to the end), checked.
fn range(v: &Volume, offset: u64, length: u64) -> Result<(u64, u64), RemoteError> {
    let end = if length == 0 {
        v.capacity
    } else {
        offset.saturating_add(length)
    };
    if offset > v.capacity || end > v.capacity {
        return Err(driver::invalid(&format!(
            "range {offset}+{length} is past the end of volume '{}' ({} bytes)",
            v.name, v.capacity
        )));
    }
    Ok((offset, end))
}

/// Sends `start..end` of a volume: in pieces, each copied out under the volume's lock; on a
/// sparse stream, all-zero pieces as holes (merged).
async fn send_volume(
    mut sink: StreamSink,
    v: Arc<Volume>,
    start: u64,
    end: u64,
    sparse: bool,
) -> Result<(), RemoteError> {
    let mut at = start;
    let mut hole = 0u64;
    while at < end {
        let n = (end - at).min(DOWNLOAD_PIECE as u64) as usize;
        let piece = v.read_at(at, n);
        at += n as u64;
        if sparse && piece.iter().all(|&b| b == 0) {
            hole += n as u64;
            continue;
        }
        if hole > 0 {
            sink.send_hole(hole).await?;
            hole = 0;
        }
        sink.send(Bytes::from(piece)).await?;
    }
    if hole > 0 {
        sink.send_hole(hole).await?;
    }
    sink.finish().await
}
