//! Storage: one pool, `default-pool` (as libvirt's test driver has), whose volumes live in
//! memory. A volume's bytes are a `Vec<u8>` that grows as data is written; bytes past its end,
//! up to the volume's capacity, read as zeros (so a new 64 MiB volume costs nothing until
//! written). Pool and volumes print as the test driver's do (a volume's allocation is its
//! capacity), but the test driver cannot upload or download.

use std::sync::{Arc, Mutex, MutexGuard};

use protocols::remote_protocol::{RemoteNonnullStoragePool, RemoteNonnullStorageVol};
use xdrgen_runtime::libvirt::RemoteError;

use crate::driver::{invalid, xml_error};
use crate::xml;

/// The pool's name, UUID and directory: the test driver's.
pub const POOL_NAME: &str = "default-pool";
const POOL_UUID: &str = "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566";
const POOL_PATH: &str = "/default-pool";
/// The pool's capacity: the test driver's 100 GiB.
pub const POOL_CAPACITY: u64 = 100 << 30;

/// `VIR_FROM_TEST`.
const FROM_TEST: i32 = 12;
/// `VIR_ERR_NO_STORAGE_POOL`.
const NO_STORAGE_POOL: i32 = 49;
/// `VIR_ERR_NO_STORAGE_VOL`.
const NO_STORAGE_VOL: i32 = 50;
/// `VIR_ERR_OPERATION_FAILED`.
const OPERATION_FAILED: i32 = 9;

/// A volume: its name, its capacity and its bytes so far.
#[derive(Debug)]
pub struct Volume {
    /// The volume's name in its pool.
    pub name: String,
    /// The size the volume reads as, in bytes.
    pub capacity: u64,
    /// The bytes written so far (a prefix; the rest reads as zeros).
    pub data: Mutex<Vec<u8>>,
}

impl Volume {
    /// The volume's path, which is also its key: `/default-pool/NAME`.
    pub fn path(&self) -> String {
        format!("{POOL_PATH}/{}", self.name)
    }

    /// The volume as the protocol names it.
    pub fn remote(&self) -> RemoteNonnullStorageVol {
        RemoteNonnullStorageVol {
            pool: POOL_NAME.try_into().unwrap_or_default(),
            name: self.name.as_str().try_into().unwrap_or_default(),
            key: self.path().as_str().try_into().unwrap_or_default(),
        }
    }

    /// The bytes the volume takes in the pool: its capacity, as the test driver counts.
    pub fn allocation(&self) -> u64 {
        self.capacity
    }

    /// The volume's bytes, locked.
    pub fn bytes(&self) -> MutexGuard<'_, Vec<u8>> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The volume's XML, in the layout of libvirt's storage XML.
    pub fn xml(&self) -> String {
        format!(
            "<volume type='file'>\n  <name>{}</name>\n  <key>{}</key>\n  \
             <capacity unit='bytes'>{}</capacity>\n  <allocation unit='bytes'>{}</allocation>\n  \
             <target>\n    <path>{}</path>\n    <format type='raw'/>\n  </target>\n</volume>\n",
            xml::escape(&self.name),
            xml::escape(&self.path()),
            self.capacity,
            self.allocation(),
            xml::escape(&self.path()),
        )
    }

    /// Writes `data` at `offset`, within the capacity.
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), RemoteError> {
        let end = self.check_range(offset, data.len() as u64)?;
        let mut bytes = self.bytes();
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[offset as usize..end].copy_from_slice(data);
        Ok(())
    }

    /// Writes `len` zero bytes at `offset` (a hole), within the capacity.
    pub fn zero_at(&self, offset: u64, len: u64) -> Result<(), RemoteError> {
        let end = self.check_range(offset, len)?;
        let mut bytes = self.bytes();
        let have = bytes.len();
        if (offset as usize) < have {
            bytes[offset as usize..end.min(have)].fill(0);
        }
        Ok(())
    }

    /// Copies the bytes at `offset..offset + len` (zeros past the data) into a new buffer.
    pub fn read_at(&self, offset: u64, len: usize) -> Vec<u8> {
        let bytes = self.bytes();
        let mut out = vec![0; len];
        let start = (offset as usize).min(bytes.len());
        let end = (offset as usize + len).min(bytes.len());
        out[..end - start].copy_from_slice(&bytes[start..end]);
        out
    }

    fn check_range(&self, offset: u64, len: u64) -> Result<usize, RemoteError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.capacity => Ok(end as usize),
            _ => Err(invalid(&format!(
                "write of {len} bytes at offset {offset} past the end of volume '{}' ({} bytes)",
                self.name, self.capacity
            ))),
        }
    }
}

/// The pool and its volumes, in creation order.
#[derive(Debug, Default)]
pub struct Storage {
    vols: Vec<Arc<Volume>>,
}

fn no_pool(what: &str) -> RemoteError {
    RemoteError::new(
        NO_STORAGE_POOL,
        FROM_TEST,
        "Storage pool not found: %s",
        what,
    )
}

fn no_vol(what: &str) -> RemoteError {
    RemoteError::new(
        NO_STORAGE_VOL,
        FROM_TEST,
        "Storage volume not found: %s",
        what,
    )
}

/// The pool's UUID.
fn pool_uuid() -> [u8; 16] {
    xml::parse_uuid(POOL_UUID).unwrap_or_default()
}

/// The pool as the protocol names it.
pub fn pool() -> RemoteNonnullStoragePool {
    RemoteNonnullStoragePool {
        name: POOL_NAME.try_into().unwrap_or_default(),
        uuid: pool_uuid(),
    }
}

/// The pool's XML, in the test driver's layout.
pub fn pool_xml(allocation: u64) -> String {
    format!(
        "<pool type='dir'>\n  <name>{POOL_NAME}</name>\n  <uuid>{POOL_UUID}</uuid>\n  \
         <capacity unit='bytes'>{POOL_CAPACITY}</capacity>\n  \
         <allocation unit='bytes'>{allocation}</allocation>\n  \
         <available unit='bytes'>{}</available>\n  <source>\n  </source>\n  <target>\n    \
         <path>{POOL_PATH}</path>\n  </target>\n</pool>\n",
        POOL_CAPACITY - allocation
    )
}

impl Storage {
    /// The pool, checked: the name and UUID must be `default-pool`'s.
    pub fn check_pool(&self, p: &RemoteNonnullStoragePool) -> Result<(), RemoteError> {
        if p.name == POOL_NAME && p.uuid == pool_uuid() {
            Ok(())
        } else {
            Err(no_pool(&format!(
                "no storage pool with matching uuid '{}' ({})",
                xml::format_uuid(&p.uuid),
                p.name
            )))
        }
    }

    /// Looks the pool up by name.
    pub fn pool_by_name(&self, name: &str) -> Result<RemoteNonnullStoragePool, RemoteError> {
        if name == POOL_NAME {
            Ok(pool())
        } else {
            Err(no_pool(&format!(
                "no storage pool with matching name '{name}'"
            )))
        }
    }

    /// Looks the pool up by UUID.
    pub fn pool_by_uuid(&self, uuid: &[u8; 16]) -> Result<RemoteNonnullStoragePool, RemoteError> {
        if *uuid == pool_uuid() {
            Ok(pool())
        } else {
            Err(no_pool(&format!(
                "no storage pool with matching uuid '{}'",
                xml::format_uuid(uuid)
            )))
        }
    }

    /// The volumes, in creation order.
    pub fn volumes(&self) -> &[Arc<Volume>] {
        &self.vols
    }

    /// The bytes the pool's volumes take.
    pub fn allocation(&self) -> u64 {
        self.vols.iter().map(|v| v.allocation()).sum()
    }

    /// Looks a volume up by name.
    pub fn vol_by_name(&self, name: &str) -> Result<Arc<Volume>, RemoteError> {
        self.vols
            .iter()
            .find(|v| v.name == name)
            .cloned()
            .ok_or_else(|| no_vol(&format!("no storage vol with matching name '{name}'")))
    }

    /// Looks a volume up by key or path (the same here).
    pub fn vol_by_path(&self, path: &str) -> Result<Arc<Volume>, RemoteError> {
        self.vols
            .iter()
            .find(|v| v.path() == path)
            .cloned()
            .ok_or_else(|| no_vol(&format!("no storage vol with matching path '{path}'")))
    }

    /// A volume as the protocol names it.
    pub fn vol(&self, v: &RemoteNonnullStorageVol) -> Result<Arc<Volume>, RemoteError> {
        if v.pool != POOL_NAME {
            return Err(no_pool(&format!(
                "no storage pool with matching name '{}'",
                v.pool
            )));
        }
        self.vol_by_name(crate::driver::text(&v.name)?)
    }

    /// Creates a volume from its XML (`<volume><name/><capacity/>…</volume>`).
    pub fn create(&mut self, doc: &str) -> Result<Arc<Volume>, RemoteError> {
        let root = xml::parse(doc).map_err(|e| xml_error(&e))?;
        if root.name != "volume" {
            return Err(xml_error(&format!(
                "unexpected root element <{}>, expecting <volume>",
                root.name
            )));
        }
        let name = root
            .child("name")
            .map(|n| n.text.clone())
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| xml_error("missing volume name element"))?;
        let capacity = match root.child("capacity") {
            Some(c) => xml::scaled(c, "bytes").map_err(|e| xml_error(&e))?,
            None => return Err(xml_error("missing capacity element")),
        };
        if self.vols.iter().any(|v| v.name == name) {
            return Err(RemoteError::new(
                OPERATION_FAILED,
                FROM_TEST,
                "operation failed: %s",
                "storage vol already exists",
            ));
        }
        if capacity > POOL_CAPACITY - self.allocation() {
            return Err(invalid("not enough free space in the pool"));
        }
        let vol = Arc::new(Volume {
            name,
            capacity,
            data: Mutex::new(Vec::new()),
        });
        self.vols.push(vol.clone());
        Ok(vol)
    }

    /// Deletes a volume.
    pub fn delete(&mut self, v: &RemoteNonnullStorageVol) -> Result<(), RemoteError> {
        let vol = self.vol(v)?;
        self.vols.retain(|x| !Arc::ptr_eq(x, &vol));
        Ok(())
    }
}
