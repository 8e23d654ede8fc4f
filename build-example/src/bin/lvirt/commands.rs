//! The commands other than `event`: each looks its domain up as virsh does, makes virsh 9.0.0's
//! calls in virsh's order and prints virsh's text, or fails with virsh's error lines.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use protocols::remote_protocol::*;
use protocols::Connection;
use xdrgen_runtime::libvirt::{Chunk, Error, RemoteError};
use xdrgen_runtime::xdr::XdrBytes;

use crate::format::{self, field};
use crate::names;

/// Standard output, flushed after every write so that output interleaves with the daemon's
/// events as it happens (virsh flushes each print too).
#[derive(Debug)]
pub struct Out(std::io::Stdout);

impl Default for Out {
    fn default() -> Self {
        Out(std::io::stdout())
    }
}

impl Out {
    /// Prints `text` as it is.
    pub fn print(&mut self, text: &str) {
        let mut out = self.0.lock();
        // A closed stdout is not worth failing a command that has already acted.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// A failed command: the lines virsh prints on stderr, each after `error: `. virsh prints its
/// own message (`vshError`) and then, if libvirt reported one, libvirt's message
/// (`vshReportError`); some failures print neither.
#[derive(Debug, Default)]
pub struct Failure {
    /// The lines, without the `error: ` prefix.
    pub lines: Vec<String>,
}

impl Failure {
    /// One line of lvirt's (virsh's) own.
    pub fn msg(text: impl Into<String>) -> Failure {
        Failure {
            lines: vec![text.into()],
        }
    }

    /// virsh's line, then libvirt's message.
    pub fn with(text: impl Into<String>, err: &Error) -> Failure {
        Failure {
            lines: vec![text.into(), error_text(err)],
        }
    }

    /// Only libvirt's message.
    pub fn libvirt(err: &Error) -> Failure {
        Failure {
            lines: vec![error_text(err)],
        }
    }
}

/// What a command ends with.
pub type CmdResult = Result<(), Failure>;

/// The text virsh shows for an error: libvirt's formatted message for an error reply, else
/// this client's description (transport, protocol, timeout).
pub fn error_text(err: &Error) -> String {
    match err.remote() {
        Some(remote) => remote.to_string(),
        None => err.to_string(),
    }
}

/// Whether the daemon does not implement a call: `VIR_ERR_NO_SUPPORT`, or the RPC error
/// "unknown procedure" that libvirt's client turns into it.
fn unsupported(err: &Error) -> bool {
    err.remote().is_some_and(|r| {
        r.code == RemoteError::NO_SUPPORT
            || (r.code == RemoteError::RPC
                && r.message
                    .as_deref()
                    .is_some_and(|m| m.starts_with("unknown procedure")))
    })
}

/// Which ways of naming a domain a command accepts (`VIRSH_BYID | VIRSH_BYUUID | VIRSH_BYNAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// An id, a UUID or a name (most commands).
    Any,
    /// A UUID or a name (`start`: an inactive domain has no id).
    UuidOrName,
}

/// Looks a domain up as `virshLookupDomainBy` does: by id if the argument is an integer ≥ 0, by
/// UUID if it is 36 bytes long, then by name; any failure ends as virsh's single line.
pub async fn lookup(conn: &Connection, arg: &str, by: By) -> Result<RemoteNonnullDomain, Failure> {
    let remote = &conn.remote;
    if by == By::Any {
        // virStrToLong_i: leading blanks and a sign are accepted, nothing may follow.
        if let Ok(id) = arg.trim_start().parse::<i32>() {
            if id >= 0 {
                if let Ok(found) = remote
                    .domain_lookup_by_id(&RemoteDomainLookupByIdArgs { id })
                    .await
                {
                    return Ok(found.dom);
                }
            }
        }
    }
    if arg.len() == 36 {
        if let Some(uuid) = format::parse_uuid(arg) {
            let args = RemoteDomainLookupByUuidArgs { uuid };
            if let Ok(found) = remote.domain_lookup_by_uuid(&args).await {
                return Ok(found.dom);
            }
        }
    }
    if let Ok(name) = XdrBytes::try_from(arg) {
        let args = RemoteDomainLookupByNameArgs { name };
        if let Ok(found) = remote.domain_lookup_by_name(&args).await {
            return Ok(found.dom);
        }
    }
    Err(Failure::msg(format!("failed to get domain '{arg}'")))
}

/// A domain's state and reason as `virshDomainState` gets them: GET_STATE, or GET_INFO (no
/// reason, -1) where the daemon lacks it.
pub async fn domain_state(
    conn: &Connection,
    dom: &RemoteNonnullDomain,
) -> Result<(i32, i32), Error> {
    let args = RemoteDomainGetStateArgs {
        dom: dom.clone(),
        flags: 0,
    };
    match conn.remote.domain_get_state(&args).await {
        Ok(state) => Ok((state.state, state.reason)),
        Err(e) if unsupported(&e) => {
            let args = RemoteDomainGetInfoArgs { dom: dom.clone() };
            let info = conn.remote.domain_get_info(&args).await?;
            Ok((i32::from(info.state), -1))
        }
        Err(e) => Err(e),
    }
}

/// `virDomainGetID`'s text: the id, or `-` for an inactive domain.
fn id_text(dom: &RemoteNonnullDomain) -> String {
    if dom.id == -1 {
        "-".to_string()
    } else {
        dom.id.to_string()
    }
}

/// `list [--all] [--inactive]`: active domains by id, then inactive ones by name (ignoring
/// case), with their state.
pub async fn list(conn: &Connection, out: &mut Out, all: bool, inactive: bool) -> CmdResult {
    const ACTIVE: u32 = 1;
    const INACTIVE: u32 = 2;
    let flags = match (all, inactive) {
        (true, _) => ACTIVE | INACTIVE,
        (false, true) => INACTIVE,
        (false, false) => ACTIVE,
    };
    let args = RemoteConnectListAllDomainsArgs {
        need_results: 1,
        flags,
    };
    let listed = conn
        .remote
        .connect_list_all_domains(&args)
        .await
        .map_err(|e| Failure::with("Failed to list domains", &e))?;
    let mut domains: Vec<&RemoteNonnullDomain> = listed.domains.iter().collect();
    domains.sort_by(|a, b| match (a.id == -1, b.id == -1) {
        (false, false) => (a.id as u32).cmp(&(b.id as u32)),
        (true, true) => ascii_casecmp(&a.name.to_str_lossy(), &b.name.to_str_lossy()),
        (false, true) => std::cmp::Ordering::Less,
        (true, false) => std::cmp::Ordering::Greater,
    });
    let mut rows = Vec::new();
    for dom in domains {
        // A domain that went away meanwhile is left out.
        let Ok((state, _)) = domain_state(conn, dom).await else {
            continue;
        };
        rows.push(vec![
            id_text(dom),
            dom.name.to_str_lossy().to_string(),
            names::state(state).to_string(),
        ]);
    }
    out.print(&format::table(&["Id", "Name", "State"], &rows));
    Ok(())
}

/// `strcasecmp` (ASCII case folding, byte order).
fn ascii_casecmp(a: &str, b: &str) -> std::cmp::Ordering {
    let fold = |s: &str| {
        s.bytes()
            .map(|b| b.to_ascii_lowercase())
            .collect::<Vec<u8>>()
    };
    fold(a).cmp(&fold(b))
}

/// `dominfo DOMAIN`: the domain's identity, state, resources and security label, one
/// `"%-15s %s"` line each, in virsh's order and with its omissions.
pub async fn dominfo(conn: &Connection, out: &mut Out, arg: &str) -> CmdResult {
    let remote = &conn.remote;
    let dom = lookup(conn, arg, By::Any).await?;
    let mut s = String::new();
    field(&mut s, 15, "Id:", id_text(&dom));
    field(&mut s, 15, "Name:", dom.name.to_str_lossy());
    field(&mut s, 15, "UUID:", format::uuid(&dom.uuid));
    let args = RemoteDomainGetOsTypeArgs { dom: dom.clone() };
    if let Ok(os) = remote.domain_get_os_type(&args).await {
        field(&mut s, 15, "OS Type:", os.r#type.to_str_lossy());
    }
    // virsh goes on after a failed GET_INFO and fails at the end.
    let mut failure = None;
    let args = RemoteDomainGetInfoArgs { dom: dom.clone() };
    match remote.domain_get_info(&args).await {
        Ok(info) => {
            field(&mut s, 15, "State:", names::state(i32::from(info.state)));
            field(&mut s, 15, "CPU(s):", info.nr_virt_cpu);
            if info.cpu_time != 0 {
                field(&mut s, 15, "CPU time:", format::cpu_time(info.cpu_time));
            }
            if info.max_mem == u64::from(u32::MAX) {
                field(&mut s, 15, "Max memory:", "no limit");
            } else {
                field(&mut s, 15, "Max memory:", format!("{} KiB", info.max_mem));
            }
            field(&mut s, 15, "Used memory:", format!("{} KiB", info.memory));
        }
        Err(e) => failure = Some(Failure::libvirt(&e)),
    }
    let args = RemoteDomainIsPersistentArgs { dom: dom.clone() };
    let persistent = match remote.domain_is_persistent(&args).await {
        Ok(r) if r.persistent != 0 => "yes",
        Ok(_) => "no",
        Err(_) => "unknown",
    };
    field(&mut s, 15, "Persistent:", persistent);
    let args = RemoteDomainGetAutostartArgs { dom: dom.clone() };
    if let Ok(r) = remote.domain_get_autostart(&args).await {
        let autostart = if r.autostart != 0 {
            "enable"
        } else {
            "disable"
        };
        field(&mut s, 15, "Autostart:", autostart);
    }
    let args = RemoteDomainHasManagedSaveImageArgs {
        dom: dom.clone(),
        flags: 0,
    };
    let managed = match remote.domain_has_managed_save_image(&args).await {
        Ok(r) if r.result != 0 => "yes",
        Ok(_) => "no",
        Err(_) => "unknown",
    };
    field(&mut s, 15, "Managed save:", managed);
    match remote.node_get_security_model().await {
        Err(e) if unsupported(&e) => {}
        Err(e) => {
            out.print(&s);
            return Err(Failure::libvirt(&e));
        }
        Ok(model) => {
            let name = format::c_string(&model.model);
            if !name.is_empty() {
                field(&mut s, 15, "Security model:", name);
                field(&mut s, 15, "Security DOI:", format::c_string(&model.doi));
                let args = RemoteDomainGetSecurityLabelArgs { dom: dom.clone() };
                match remote.domain_get_security_label(&args).await {
                    Ok(label) => {
                        let text = format::c_string(&label.label);
                        if !text.is_empty() {
                            let mode = if label.enforcing != 0 {
                                "enforcing"
                            } else {
                                "permissive"
                            };
                            field(&mut s, 15, "Security label:", format!("{text} ({mode})"));
                        }
                    }
                    Err(e) => {
                        out.print(&s);
                        return Err(Failure::libvirt(&e));
                    }
                }
            }
        }
    }
    let args = RemoteDomainGetMessagesArgs { dom, flags: 0 };
    if let Ok(messages) = remote.domain_get_messages(&args).await {
        for (i, message) in messages.msgs.iter().enumerate() {
            let label = if i == 0 { "Messages:" } else { "" };
            field(&mut s, 15, label, message.to_str_lossy());
        }
    }
    out.print(&s);
    failure.map_or(Ok(()), Err)
}

/// `domstate DOMAIN [--reason]`.
pub async fn domstate(conn: &Connection, out: &mut Out, arg: &str, reason: bool) -> CmdResult {
    let dom = lookup(conn, arg, By::Any).await?;
    let (state, why) = domain_state(conn, &dom)
        .await
        .map_err(|e| Failure::libvirt(&e))?;
    if reason {
        let text = format!(
            "{} ({})\n",
            names::state(state),
            names::state_reason(state, why)
        );
        out.print(&text);
    } else {
        out.print(&format!("{}\n", names::state(state)));
    }
    Ok(())
}

/// `virDomainXMLFlags` that `dumpxml` takes.
#[derive(Debug, Clone, Copy, Default)]
pub struct XmlFlags {
    /// `--security-info`: `VIR_DOMAIN_XML_SECURE`.
    pub security_info: bool,
    /// `--inactive`: `VIR_DOMAIN_XML_INACTIVE`.
    pub inactive: bool,
    /// `--update-cpu`: `VIR_DOMAIN_XML_UPDATE_CPU`.
    pub update_cpu: bool,
    /// `--migratable`: `VIR_DOMAIN_XML_MIGRATABLE`.
    pub migratable: bool,
}

impl XmlFlags {
    fn bits(self) -> u32 {
        u32::from(self.security_info)
            | u32::from(self.inactive) << 1
            | u32::from(self.update_cpu) << 2
            | u32::from(self.migratable) << 3
    }
}

/// `dumpxml DOMAIN [--inactive] [--security-info] [--update-cpu] [--migratable]`.
pub async fn dumpxml(conn: &Connection, out: &mut Out, arg: &str, flags: XmlFlags) -> CmdResult {
    let dom = lookup(conn, arg, By::Any).await?;
    let args = RemoteDomainGetXmlDescArgs {
        dom,
        flags: flags.bits(),
    };
    let xml = conn
        .remote
        .domain_get_xml_desc(&args)
        .await
        .map_err(|e| Failure::libvirt(&e))?;
    out.print(&xml.xml.to_str_lossy());
    Ok(())
}

/// `nodeinfo`: the host's CPUs and memory, `"%-20s"` labels.
pub async fn nodeinfo(conn: &Connection, out: &mut Out) -> CmdResult {
    let info = conn
        .remote
        .node_get_info()
        .await
        .map_err(|e| Failure::with("failed to get node information", &e))?;
    let mut s = String::new();
    field(&mut s, 20, "CPU model:", format::c_string(&info.model));
    field(&mut s, 20, "CPU(s):", info.cpus);
    if info.mhz != 0 {
        field(&mut s, 20, "CPU frequency:", format!("{} MHz", info.mhz));
    }
    field(&mut s, 20, "CPU socket(s):", info.sockets);
    field(&mut s, 20, "Core(s) per socket:", info.cores);
    field(&mut s, 20, "Thread(s) per core:", info.threads);
    field(&mut s, 20, "NUMA cell(s):", info.nodes);
    field(&mut s, 20, "Memory size:", format!("{} KiB", info.memory));
    out.print(&s);
    Ok(())
}

/// `version [--daemon]`, with virsh's labels. lvirt links no libvirt library, so the first two
/// lines say so instead of naming a libvirt version; "Using API" names the daemon's library
/// version, since the daemon is what implements the API for lvirt (virsh prints its local
/// library's there, the same number when client and daemon match).
pub async fn version(conn: &Connection, out: &mut Out, daemon: bool) -> CmdResult {
    let remote = &conn.remote;
    let kind = remote
        .connect_get_type()
        .await
        .map_err(|e| Failure::with("failed to get hypervisor type", &e))?;
    let kind = kind.r#type.to_str_lossy();
    let mut s = format!(
        "Compiled against library: none (lvirt {} speaks libvirt's RPC protocol itself)\n\
         Using library: none\n",
        env!("CARGO_PKG_VERSION")
    );
    let lib = match remote.connect_get_lib_version().await {
        Ok(v) => v.lib_ver,
        Err(e) => {
            out.print(&s);
            return Err(Failure::with("failed to get the library version", &e));
        }
    };
    s.push_str(&format!("Using API: {kind} {}\n", format::version(lib)));
    let hv = match remote.connect_get_version().await {
        Ok(v) => v.hv_ver,
        Err(e) => {
            out.print(&s);
            return Err(Failure::with("failed to get the hypervisor version", &e));
        }
    };
    if hv == 0 {
        s.push_str(&format!(
            "Cannot extract running {kind} hypervisor version\n"
        ));
    } else {
        s.push_str(&format!(
            "Running hypervisor: {kind} {}\n",
            format::version(hv)
        ));
    }
    if daemon {
        s.push_str(&format!(
            "Running against daemon: {}\n",
            format::version(lib)
        ));
    }
    out.print(&s);
    Ok(())
}

/// `start DOMAIN`: boots an inactive domain (looked up by UUID or name only). Its messages name
/// the domain by its own name.
pub async fn start(conn: &Connection, out: &mut Out, arg: &str) -> CmdResult {
    let dom = lookup(conn, arg, By::UuidOrName).await?;
    if dom.id != -1 {
        return Err(Failure::msg("Domain is already active"));
    }
    let name = dom.name.to_str_lossy().to_string();
    conn.remote
        .domain_create(&RemoteDomainCreateArgs { dom })
        .await
        .map_err(|e| Failure::with(format!("Failed to start domain '{name}'"), &e))?;
    out.print(&format!("Domain '{name}' started\n"));
    Ok(())
}

/// The state changes that take a domain and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `suspend`: pauses the domain's CPUs.
    Suspend,
    /// `resume`: resumes a paused domain.
    Resume,
    /// `destroy`: stops the domain at once.
    Destroy,
}

/// `suspend|resume|destroy DOMAIN`. Their messages name the domain as the user did.
pub async fn act(conn: &Connection, out: &mut Out, arg: &str, action: Action) -> CmdResult {
    let dom = lookup(conn, arg, By::Any).await?;
    let remote = &conn.remote;
    let (result, verb, done) = match action {
        Action::Suspend => (
            remote
                .domain_suspend(&RemoteDomainSuspendArgs { dom })
                .await,
            "suspend",
            "suspended",
        ),
        Action::Resume => (
            remote.domain_resume(&RemoteDomainResumeArgs { dom }).await,
            "resume",
            "resumed",
        ),
        Action::Destroy => (
            remote
                .domain_destroy(&RemoteDomainDestroyArgs { dom })
                .await,
            "destroy",
            "destroyed",
        ),
    };
    result.map_err(|e| Failure::with(format!("Failed to {verb} domain '{arg}'"), &e))?;
    out.print(&format!("Domain '{arg}' {done}\n"));
    Ok(())
}

/// virsh's file name for a screenshot taken now (`virshGenFileName`): the domain's name, the
/// local time, and the extension of the MIME type if virsh knows it.
pub fn screenshot_file_name(
    domain: &str,
    mime: &str,
    now: chrono::DateTime<chrono::Local>,
) -> String {
    let ext = match mime {
        "image/x-portable-pixmap" => ".ppm",
        "image/png" => ".png",
        _ => "",
    };
    format!("{domain}-{}{ext}", now.format("%Y-%m-%d-%H:%M:%S"))
}

/// `screenshot DOMAIN [FILE] [--screen N]`: saves the image the daemon streams. Like virsh it
/// creates FILE (or truncates an existing one), removes a file it created if the transfer
/// fails, and prints its message without a newline (the blank line after every command ends
/// it).
pub async fn screenshot(
    conn: &Connection,
    out: &mut Out,
    arg: &str,
    file: Option<&Path>,
    screen: u32,
) -> CmdResult {
    let dom = lookup(conn, arg, By::Any).await?;
    let name = dom.name.to_str_lossy().to_string();
    let args = RemoteDomainScreenshotArgs {
        dom,
        screen,
        flags: 0,
    };
    let not_taken = || format!("could not take a screenshot of {arg}");
    let (reply, mut stream) = conn
        .remote
        .domain_screenshot(&args)
        .await
        .map_err(|e| Failure::with(not_taken(), &e))?;
    let Some(mime) = reply.mime.as_ref().map(|m| m.to_str_lossy().to_string()) else {
        return Err(Failure::msg(not_taken()));
    };
    let path = match file {
        Some(f) => f.to_path_buf(),
        None => PathBuf::from(screenshot_file_name(&name, &mime, chrono::Local::now())),
    };
    let (mut dest, created) = create_or_truncate(&path)
        .map_err(|_| Failure::msg(format!("cannot create file {}", path.display())))?;
    let receive_failed = || format!("could not receive data from domain '{arg}'");
    let received: CmdResult = async {
        while let Some(chunk) = stream.next_chunk().await {
            let written = match chunk.map_err(|e| Failure::with(receive_failed(), &e))? {
                Chunk::Data(data) => dest.write_all(&data),
                Chunk::Hole(len) => {
                    std::io::copy(&mut std::io::repeat(0).take(len), &mut dest).map(drop)
                }
            };
            written.map_err(|_| Failure::msg(receive_failed()))?;
        }
        Ok(())
    }
    .await;
    drop(dest);
    if let Err(failure) = received {
        if created {
            let _ = std::fs::remove_file(&path);
        }
        return Err(failure);
    }
    out.print(&format!(
        "Screenshot saved to {}, with type of {mime}",
        path.display()
    ));
    Ok(())
}

/// Opens `path` as virsh does: created exclusively, or truncated if it exists. Returns whether
/// it was created (so that a failure removes only a file of ours).
fn create_or_truncate(path: &Path) -> std::io::Result<(File, bool)> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => Ok((f, true)),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let f = OpenOptions::new().write(true).truncate(true).open(path)?;
            Ok((f, false))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn default_screenshot_names_follow_virsh() {
        let when = chrono::Local
            .with_ymd_and_hms(2026, 12, 7, 4, 51, 31)
            .single()
            .unwrap();
        assert_eq!(
            screenshot_file_name("test", "image/png", when),
            "test-2026-12-07-04:51:31.png"
        );
        assert_eq!(
            screenshot_file_name("vm", "image/x-portable-pixmap", when),
            "vm-2026-12-07-04:51:31.ppm"
        );
        assert_eq!(
            screenshot_file_name("vm", "image/jpeg", when),
            "vm-2026-12-07-04:51:31"
        );
    }

    #[test]
    fn xml_flags_are_libvirts_bits() {
        let all = XmlFlags {
            security_info: true,
            inactive: true,
            update_cpu: true,
            migratable: true,
        };
        assert_eq!(all.bits(), 0b1111);
        let inactive = XmlFlags {
            inactive: true,
            ..XmlFlags::default()
        };
        assert_eq!(inactive.bits(), 2);
    }

    #[test]
    fn inactive_names_sort_ignoring_ascii_case() {
        use std::cmp::Ordering::*;
        assert_eq!(ascii_casecmp("Alpha", "beta"), Less);
        assert_eq!(ascii_casecmp("beta", "ALPHA"), Greater);
        assert_eq!(ascii_casecmp("Test", "test"), Equal);
    }
}
