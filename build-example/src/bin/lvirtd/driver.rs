//! The in-memory hypervisor: its host, its domains and their life cycle, with the errors and
//! state transitions libvirt's test driver (`test:///default`) shows.
//!
//! Every operation that changes a domain returns the lifecycle events it caused; the caller
//! sends them (see `events`) once the driver's lock is released.

use std::time::{SystemTime, UNIX_EPOCH};

use protocols::remote_protocol::{RemoteNonnullDomain, RemoteNonnullString};
use xdrgen_runtime::libvirt::RemoteError;
use xdrgen_runtime::xdr::XdrBytes;

use crate::xml::{self, DomainDef};

/// The domain the test driver starts with, as `virsh dumpxml --inactive test` prints it.
pub const TEST_DOMAIN_XML: &str = "\
<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
";

/// The host, as the test driver describes its node.
#[derive(Debug, Clone, Copy)]
pub struct NodeInfo {
    /// CPU model.
    pub model: &'static str,
    /// Memory in KiB.
    pub memory: u64,
    /// Active CPUs.
    pub cpus: i32,
    /// CPU frequency in MHz.
    pub mhz: i32,
    /// NUMA cells.
    pub nodes: i32,
    /// Sockets per cell.
    pub sockets: i32,
    /// Cores per socket.
    pub cores: i32,
    /// Threads per core.
    pub threads: i32,
}

/// The test driver's node.
pub const NODE: NodeInfo = NodeInfo {
    model: "i686",
    memory: 3_145_728,
    cpus: 16,
    mhz: 1400,
    nodes: 2,
    sockets: 2,
    cores: 2,
    threads: 2,
};

/// libvirt's `virDomainState` values lvirtd uses.
pub mod state {
    /// `VIR_DOMAIN_RUNNING`.
    pub const RUNNING: i32 = 1;
    /// `VIR_DOMAIN_PAUSED`.
    pub const PAUSED: i32 = 3;
    /// `VIR_DOMAIN_SHUTOFF`.
    pub const SHUTOFF: i32 = 5;
}

/// State reasons (`virDomainRunningReason`, `…PausedReason`, `…ShutoffReason`).
pub mod reason {
    /// Any state: unknown.
    pub const UNKNOWN: i32 = 0;
    /// Running: booted.
    pub const BOOTED: i32 = 1;
    /// Running: unpaused.
    pub const UNPAUSED: i32 = 5;
    /// Paused: by the user.
    pub const USER: i32 = 1;
    /// Shut off: shutdown.
    pub const SHUTDOWN: i32 = 1;
    /// Shut off: destroyed.
    pub const DESTROYED: i32 = 2;
}

/// A lifecycle event: (`virDomainEventType`, detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle(pub i32, pub i32);

impl Lifecycle {
    /// Defined, added.
    pub const DEFINED_ADDED: Lifecycle = Lifecycle(0, 0);
    /// Defined, updated.
    pub const DEFINED_UPDATED: Lifecycle = Lifecycle(0, 1);
    /// Undefined, removed.
    pub const UNDEFINED_REMOVED: Lifecycle = Lifecycle(1, 0);
    /// Started, booted.
    pub const STARTED_BOOTED: Lifecycle = Lifecycle(2, 0);
    /// Suspended, paused.
    pub const SUSPENDED_PAUSED: Lifecycle = Lifecycle(3, 0);
    /// Resumed, unpaused.
    pub const RESUMED_UNPAUSED: Lifecycle = Lifecycle(4, 0);
    /// Stopped, shutdown.
    pub const STOPPED_SHUTDOWN: Lifecycle = Lifecycle(5, 0);
    /// Stopped, destroyed.
    pub const STOPPED_DESTROYED: Lifecycle = Lifecycle(5, 1);
}

/// Events an operation caused, for the domains they concern.
pub type Events = Vec<(RemoteNonnullDomain, Lifecycle)>;

/// One domain.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Its definition.
    pub def: DomainDef,
    /// Its UUID.
    pub uuid: [u8; 16],
    /// Its id while active, else -1.
    pub id: i32,
    /// `virDomainState`.
    pub state: i32,
    /// The state's reason.
    pub reason: i32,
    /// Whether it has a persistent definition (else it goes away when it stops).
    pub persistent: bool,
    /// `virsh autostart`.
    pub autostart: bool,
}

impl Domain {
    /// True while running or paused.
    pub fn is_active(&self) -> bool {
        self.id >= 0
    }

    /// The domain as the protocol names it.
    pub fn remote(&self) -> RemoteNonnullDomain {
        RemoteNonnullDomain {
            // Names were checked against the protocol's bound when defined.
            name: self.def.name.as_str().try_into().unwrap_or_default(),
            uuid: self.uuid,
            id: self.id,
        }
    }

    /// The domain's XML; `inactive` leaves out the id.
    pub fn xml(&self, inactive: bool) -> String {
        let id = (self.is_active() && !inactive).then_some(self.id);
        xml::format_domain(&self.def, &self.uuid, id)
    }
}

/// The hypervisor's state.
#[derive(Debug)]
pub struct Driver {
    domains: Vec<Domain>,
    next_id: i32,
}

/// `VIR_FROM_TEST`: the error domain of libvirt's test driver.
const FROM_TEST: i32 = 12;
/// `VIR_FROM_DOMAIN`: domain configuration.
const FROM_DOMAIN: i32 = 20;
/// `VIR_ERR_OPERATION_FAILED`.
const OPERATION_FAILED: i32 = 9;
/// `VIR_ERR_XML_ERROR`.
const XML_ERROR: i32 = 27;

/// libvirt's error without a detail (str2 absent), as `virReportError(code, NULL)` makes it.
fn bare(code: i32, domain: i32, message: &str) -> RemoteError {
    RemoteError {
        str2: None,
        ..RemoteError::new(code, domain, message, "")
    }
}

/// "Domain not found", as the test driver's lookups report it.
pub fn no_domain() -> RemoteError {
    bare(RemoteError::NO_DOMAIN, FROM_TEST, "Domain not found")
}

fn no_domain_uuid(dom: &RemoteNonnullDomain) -> RemoteError {
    RemoteError::new(
        RemoteError::NO_DOMAIN,
        FROM_TEST,
        "Domain not found: %s",
        &format!(
            "no domain with matching uuid '{}' ({})",
            xml::format_uuid(&dom.uuid),
            dom.name
        ),
    )
}

fn internal(detail: &str) -> RemoteError {
    RemoteError::new(
        RemoteError::INTERNAL_ERROR,
        FROM_TEST,
        "internal error: %s",
        detail,
    )
}

/// `VIR_ERR_INVALID_ARG`.
const INVALID_ARG: i32 = 8;

/// A string argument as text. The protocol's strings are bytes (a C client may send any), but
/// this daemon's objects have UTF-8 names, paths and XML: bytes that are not UTF-8 name none
/// of them and get libvirt's "invalid argument" error.
pub fn text<const N: u32>(s: &XdrBytes<N>) -> Result<&str, RemoteError> {
    s.as_str().map_err(|e| {
        RemoteError::new(
            INVALID_ARG,
            FROM_TEST,
            "invalid argument: %s",
            &format!("string {s:?} is not UTF-8 ({e})"),
        )
    })
}

/// "Requested operation is not valid: …".
pub fn invalid(detail: &str) -> RemoteError {
    RemoteError::new(
        RemoteError::OPERATION_INVALID,
        FROM_TEST,
        "Requested operation is not valid: %s",
        detail,
    )
}

/// "XML error: …".
pub fn xml_error(detail: &str) -> RemoteError {
    RemoteError::new(XML_ERROR, FROM_DOMAIN, "XML error: %s", detail)
}

/// The CPU time the test driver reports: the time of day, in nanoseconds.
pub fn cpu_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A random (version 4) UUID.
fn new_uuid() -> [u8; 16] {
    use std::io::Read;
    let mut u = [0u8; 16];
    let filled = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut u));
    if filled.is_err() {
        // No /dev/urandom: the clock and a counter are unique enough for an in-memory driver.
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let t = cpu_time().to_le_bytes();
        let n = N.fetch_add(1, Ordering::Relaxed).to_le_bytes();
        u[..8].copy_from_slice(&t);
        u[8..].copy_from_slice(&n);
    }
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

impl Default for Driver {
    fn default() -> Self {
        Driver::new()
    }
}

impl Driver {
    /// The test driver's start state: domain `test`, running with id 1.
    pub fn new() -> Driver {
        let def = xml::parse_domain(TEST_DOMAIN_XML).expect("the built-in domain parses");
        let uuid = def.uuid.expect("the built-in domain has a UUID");
        Driver {
            domains: vec![Domain {
                def,
                uuid,
                id: 1,
                state: state::RUNNING,
                reason: reason::UNKNOWN,
                persistent: true,
                autostart: false,
            }],
            next_id: 2,
        }
    }

    /// Every domain, in definition order.
    pub fn domains(&self) -> &[Domain] {
        &self.domains
    }

    /// The domain named `name`.
    pub fn by_name(&self, name: &str) -> Result<&Domain, RemoteError> {
        self.domains
            .iter()
            .find(|d| d.def.name == name)
            .ok_or_else(no_domain)
    }

    /// The domain with this UUID.
    pub fn by_uuid(&self, uuid: &[u8; 16]) -> Result<&Domain, RemoteError> {
        self.domains
            .iter()
            .find(|d| d.uuid == *uuid)
            .ok_or_else(no_domain)
    }

    /// The active domain with this id.
    pub fn by_id(&self, id: i32) -> Result<&Domain, RemoteError> {
        self.domains
            .iter()
            .find(|d| d.id == id && id >= 0)
            .ok_or_else(no_domain)
    }

    /// The domain a client names (by UUID, as libvirt's drivers find it).
    pub fn get(&self, dom: &RemoteNonnullDomain) -> Result<&Domain, RemoteError> {
        self.domains
            .iter()
            .find(|d| d.uuid == dom.uuid)
            .ok_or_else(|| no_domain_uuid(dom))
    }

    fn index(&self, dom: &RemoteNonnullDomain) -> Result<usize, RemoteError> {
        self.domains
            .iter()
            .position(|d| d.uuid == dom.uuid)
            .ok_or_else(|| no_domain_uuid(dom))
    }

    /// Defines (or redefines) a domain from XML.
    pub fn define(&mut self, doc: &str) -> Result<(Domain, Events), RemoteError> {
        let def = xml::parse_domain(doc).map_err(|e| xml_error(&e))?;
        if RemoteNonnullString::try_from(def.name.as_str()).is_err() {
            return Err(xml_error("domain name is too long"));
        }
        let same_name = self.domains.iter().position(|d| d.def.name == def.name);
        let same_uuid = def
            .uuid
            .and_then(|u| self.domains.iter().position(|d| d.uuid == u));
        let failed = |detail: String| {
            RemoteError::new(
                OPERATION_FAILED,
                FROM_DOMAIN,
                "operation failed: %s",
                &detail,
            )
        };
        match (same_name, same_uuid) {
            (Some(i), Some(j)) if i == j => {
                let d = &mut self.domains[i];
                d.def = def;
                d.persistent = true;
                let d = d.clone();
                let events = vec![(d.remote(), Lifecycle::DEFINED_UPDATED)];
                Ok((d, events))
            }
            (Some(i), _) => Err(failed(format!(
                "domain '{}' already exists with uuid {}",
                self.domains[i].def.name,
                xml::format_uuid(&self.domains[i].uuid)
            ))),
            (None, Some(j)) => Err(failed(format!(
                "domain '{}' is already defined with uuid {}",
                self.domains[j].def.name,
                xml::format_uuid(&self.domains[j].uuid)
            ))),
            (None, None) => {
                let uuid = def.uuid.unwrap_or_else(new_uuid);
                let d = Domain {
                    def,
                    uuid,
                    id: -1,
                    state: state::SHUTOFF,
                    reason: reason::UNKNOWN,
                    persistent: true,
                    autostart: false,
                };
                self.domains.push(d.clone());
                let events = vec![(d.remote(), Lifecycle::DEFINED_ADDED)];
                Ok((d, events))
            }
        }
    }

    /// Creates and starts a transient domain from XML (`virsh create`).
    pub fn create_xml(&mut self, doc: &str) -> Result<(Domain, Events), RemoteError> {
        let (d, _) = self.define(doc)?;
        let i = self.index(&d.remote())?;
        self.domains[i].persistent = false;
        let events = self.start(&self.domains[i].remote())?;
        Ok((self.domains[i].clone(), events))
    }

    /// Removes the persistent definition; a running domain goes on, transient.
    pub fn undefine(&mut self, dom: &RemoteNonnullDomain) -> Result<Events, RemoteError> {
        let i = self.index(dom)?;
        let d = &mut self.domains[i];
        if !d.persistent {
            return Err(invalid("cannot undefine transient domain"));
        }
        let remote = d.remote();
        if d.is_active() {
            d.persistent = false;
        } else {
            self.domains.remove(i);
        }
        Ok(vec![(remote, Lifecycle::UNDEFINED_REMOVED)])
    }

    /// Starts a defined domain.
    pub fn start(&mut self, dom: &RemoteNonnullDomain) -> Result<Events, RemoteError> {
        let i = self.index(dom)?;
        if self.domains[i].is_active() {
            return Err(invalid("Domain is already running"));
        }
        let id = self.next_id;
        self.next_id += 1;
        let d = &mut self.domains[i];
        d.id = id;
        d.state = state::RUNNING;
        d.reason = reason::BOOTED;
        Ok(vec![(d.remote(), Lifecycle::STARTED_BOOTED)])
    }

    /// Stops a domain (destroy or shutdown); a transient one goes away.
    fn stop(&mut self, i: usize, why: i32, event: Lifecycle) -> Events {
        let d = &mut self.domains[i];
        let remote = d.remote();
        d.id = -1;
        d.state = state::SHUTOFF;
        d.reason = why;
        if !d.persistent {
            self.domains.remove(i);
        }
        vec![(remote, event)]
    }

    /// Pulls the plug.
    pub fn destroy(&mut self, dom: &RemoteNonnullDomain) -> Result<Events, RemoteError> {
        let i = self.index(dom)?;
        if !self.domains[i].is_active() {
            return Err(invalid("domain is not running"));
        }
        Ok(self.stop(i, reason::DESTROYED, Lifecycle::STOPPED_DESTROYED))
    }

    /// A guest shutdown, which the test driver completes at once.
    pub fn shutdown(&mut self, dom: &RemoteNonnullDomain) -> Result<Events, RemoteError> {
        let i = self.index(dom)?;
        if !self.domains[i].is_active() {
            return Err(internal(&format!(
                "domain '{}' not running",
                self.domains[i].def.name
            )));
        }
        Ok(self.stop(i, reason::SHUTDOWN, Lifecycle::STOPPED_SHUTDOWN))
    }

    /// Pauses a running domain.
    pub fn suspend(&mut self, dom: &RemoteNonnullDomain) -> Result<Events, RemoteError> {
        let i = self.index(dom)?;
        let d = &mut self.domains[i];
        if d.state != state::RUNNING {
            return Err(internal(&format!("domain '{}' not running", d.def.name)));
        }
        d.state = state::PAUSED;
        d.reason = reason::USER;
        Ok(vec![(d.remote(), Lifecycle::SUSPENDED_PAUSED)])
    }

    /// Unpauses a paused domain.
    pub fn resume(&mut self, dom: &RemoteNonnullDomain) -> Result<Events, RemoteError> {
        let i = self.index(dom)?;
        let d = &mut self.domains[i];
        if d.state != state::PAUSED {
            return Err(internal(&format!("domain '{}' not paused", d.def.name)));
        }
        d.state = state::RUNNING;
        d.reason = reason::UNPAUSED;
        Ok(vec![(d.remote(), Lifecycle::RESUMED_UNPAUSED)])
    }

    /// Sets a persistent domain's autostart flag.
    pub fn set_autostart(
        &mut self,
        dom: &RemoteNonnullDomain,
        on: bool,
    ) -> Result<(), RemoteError> {
        let i = self.index(dom)?;
        let d = &mut self.domains[i];
        if !d.persistent {
            return Err(invalid("cannot set autostart for transient domain"));
        }
        d.autostart = on;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_life_of_a_domain() {
        let mut drv = Driver::new();
        let test = drv.by_name("test").unwrap().remote();
        assert_eq!(test.id, 1);
        assert_eq!(
            drv.suspend(&test).unwrap()[0].1,
            Lifecycle::SUSPENDED_PAUSED
        );
        let e = drv.suspend(&test).unwrap_err();
        assert_eq!(e.to_string(), "internal error: domain 'test' not running");
        drv.resume(&test).unwrap();
        drv.destroy(&test).unwrap();
        let e = drv.destroy(&test).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Requested operation is not valid: domain is not running"
        );
        drv.start(&test).unwrap();
        assert_eq!(drv.by_name("test").unwrap().id, 2);
        // Undefined while running: transient, gone once stopped.
        drv.undefine(&test).unwrap();
        assert!(drv.by_id(2).is_ok());
        drv.shutdown(&test).unwrap();
        assert!(drv.by_name("test").is_err());
    }

    #[test]
    fn defining_twice_with_a_new_uuid_fails_as_libvirt_does() {
        let mut drv = Driver::new();
        let doc = "<domain type='test'><name>extra</name><memory>1024</memory>\
                   <os><type>hvm</type></os></domain>";
        let (d, events) = drv.define(doc).unwrap();
        assert_eq!(events[0].1, Lifecycle::DEFINED_ADDED);
        assert_eq!((d.id, d.state), (-1, state::SHUTOFF));
        let e = drv.define(doc).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("operation failed: domain 'extra' already exists with uuid "),
            "{e}"
        );
        drv.undefine(&d.remote()).unwrap();
        assert_eq!(drv.domains().len(), 1);
    }
}
