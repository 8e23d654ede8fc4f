//! What generated code says about a program's procedures: static metadata tables that clients,
//! servers, access hooks and tools read at run time.
//!
//! Generated code emits one [`ProgramInfo`] per program version (`REMOTE_PROGRAM_INFO` for
//! libvirt's remote program), listing every procedure with its wire number, its payload types and
//! libvirt's annotations. The table is plain data: it needs no transport feature.

/// One version of a program and its procedures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramInfo {
    /// The program's `.x` name (`REMOTE_PROGRAM`).
    pub name: &'static str,
    /// The program number on the wire.
    pub number: u32,
    /// The version number on the wire.
    pub version: u32,
    /// Every procedure, sorted by number.
    pub procedures: &'static [ProcedureInfo],
}

impl ProgramInfo {
    /// The procedure with this wire number, if the program has one.
    ///
    /// ```
    /// use xdrgen_runtime::rpc::{ProcedureInfo, ProgramInfo};
    ///
    /// static PROCS: [ProcedureInfo; 2] = [
    ///     ProcedureInfo::new(1, "DEMO_PROC_OPEN", "open"),
    ///     ProcedureInfo::new(3, "DEMO_PROC_GET_VERSION", "get_version"),
    /// ];
    /// static DEMO: ProgramInfo = ProgramInfo { name: "DEMO_PROGRAM", number: 7, version: 1, procedures: &PROCS };
    /// assert_eq!(DEMO.procedure(3).map(|p| p.name), Some("DEMO_PROC_GET_VERSION"));
    /// assert!(DEMO.procedure(2).is_none());
    /// ```
    pub fn procedure(&self, number: u32) -> Option<&'static ProcedureInfo> {
        let procedures: &'static [ProcedureInfo] = self.procedures;
        procedures
            .binary_search_by_key(&number, |p| p.number)
            .ok()
            .map(|i| &procedures[i])
    }
}

/// Which side libvirt's own generator writes stubs for (`@generate:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generate {
    /// `both`
    Both,
    /// `client`
    Client,
    /// `server`
    Server,
    /// `none`
    None,
}

/// One procedure: its number, names, payload types and annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcedureInfo {
    /// The procedure number on the wire.
    pub number: u32,
    /// The `.x` name (`REMOTE_PROC_DOMAIN_GET_INFO`).
    pub name: &'static str,
    /// The generated method name (`domain_get_info`).
    pub method: &'static str,
    /// The `.x` name of the argument type, if the procedure takes one.
    pub args: Option<&'static str>,
    /// The `.x` name of the result type, if it returns one.
    pub ret: Option<&'static str>,
    /// The `.x` name of the event payload (`*_msg`), for libvirt event procedures.
    pub message: Option<&'static str>,
    /// `@generate:`.
    pub generate: Option<Generate>,
    /// `@acl:` lines, in order (`domain:read`, `domain:save:!VIR_DOMAIN_AFFECT_CONFIG`).
    pub acl: &'static [&'static str],
    /// `@aclfilter:` lines, in order.
    pub aclfilter: &'static [&'static str],
    /// `@priority: high`: a server must not queue the call behind slow ones.
    pub high_priority: bool,
    /// `@readstream: N`: the call opens a stream carrying data from server to client.
    pub readstream: Option<u32>,
    /// `@writestream: N`: the call opens a stream carrying data from client to server.
    pub writestream: Option<u32>,
    /// `@sparseflag:`: the flag that makes the stream sparse (it may carry holes).
    pub sparseflag: Option<&'static str>,
}

impl ProcedureInfo {
    /// A procedure with no payloads and no annotations; fill in the rest with struct update
    /// syntax.
    pub const fn new(number: u32, name: &'static str, method: &'static str) -> Self {
        ProcedureInfo {
            number,
            name,
            method,
            args: None,
            ret: None,
            message: None,
            generate: None,
            acl: &[],
            aclfilter: &[],
            high_priority: false,
            readstream: None,
            writestream: None,
            sparseflag: None,
        }
    }

    /// True when the call opens a data stream in either direction.
    pub fn has_stream(&self) -> bool {
        self.readstream.is_some() || self.writestream.is_some()
    }
}
