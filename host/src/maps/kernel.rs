//! A map in the kernel, read through its file descriptor.

use std::os::fd::{AsFd, OwnedFd};

use super::read::{self, Layout};
use super::sys::{BpfSys, Kernel};
use super::{BpfCommand, MapError, MapSnapshot, MapSource, MapType, ReadMethod, cpus};

/// A BPF map opened by fd; reads by batch while the kernel allows it.
pub struct KernelMap {
    name: String,
    fd: OwnedFd,
    map_type: MapType,
    key_size: u32,
    value_size: u32,
    cpus: u32,
    layout: Layout,
    batch: bool,
    sys: Box<dyn BpfSys>,
}

impl std::fmt::Debug for KernelMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelMap")
            .field("name", &self.name)
            .field("map_type", &self.map_type)
            .field("key_size", &self.key_size)
            .field("value_size", &self.value_size)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl KernelMap {
    /// Opens a map by fd, asking the kernel for its type and sizes.
    pub fn new(name: impl Into<String>, fd: OwnedFd) -> Result<Self, MapError> {
        Self::with_sys(name, fd, Box::new(Kernel))
    }

    /// Like [`KernelMap::new`] over another `bpf(2)` implementation.
    pub fn with_sys(
        name: impl Into<String>,
        fd: OwnedFd,
        sys: Box<dyn BpfSys>,
    ) -> Result<Self, MapError> {
        let name = name.into();
        let info = sys
            .map_info(fd.as_fd())
            .map_err(|source| MapError::Syscall {
                map: name.clone(),
                command: BpfCommand::ObjGetInfoByFd,
                source,
            })?;
        let map_type = MapType::from_raw(info.map_type);
        let cpus = if map_type.is_per_cpu() {
            cpus::possible().map_err(|source| MapError::Cpus { source })?
        } else {
            1
        };
        let stride = if map_type.is_per_cpu() {
            (info.value_size as usize).next_multiple_of(8) * cpus as usize
        } else {
            info.value_size as usize
        };
        Ok(Self {
            name,
            fd,
            map_type,
            key_size: info.key_size,
            value_size: info.value_size,
            cpus,
            layout: Layout {
                key_size: info.key_size as usize,
                stride,
                max_entries: info.max_entries,
            },
            batch: true,
            sys,
        })
    }

    /// The map's kernel type.
    pub fn map_type(&self) -> MapType {
        self.map_type
    }

    /// Forces key-by-key reads (for tests and benchmarks).
    pub fn disable_batch(&mut self) {
        self.batch = false;
    }
}

impl MapSource for KernelMap {
    fn name(&self) -> &str {
        &self.name
    }

    fn read(&mut self, out: &mut MapSnapshot) -> Result<ReadMethod, MapError> {
        out.map_type = Some(self.map_type);
        out.key_size = self.key_size;
        out.value_size = self.value_size;
        out.cpus = self.cpus;
        let fd = self.fd.as_fd();
        if self.batch {
            match read::batch(self.sys.as_ref(), fd, self.layout, out) {
                Ok(()) => return Ok(ReadMethod::Batch),
                Err(e) if read::batch_unsupported(&e) => {
                    tracing::debug!(map = %self.name, error = %e, "batch lookup unsupported, iterating");
                    self.batch = false;
                }
                Err(source) => {
                    return Err(MapError::Syscall {
                        map: self.name.clone(),
                        command: BpfCommand::LookupBatch,
                        source,
                    });
                }
            }
        }
        read::iterate(self.sys.as_ref(), fd, self.layout, out).map_err(|(command, source)| {
            MapError::Syscall {
                map: self.name.clone(),
                command,
                source,
            }
        })?;
        Ok(ReadMethod::Iteration)
    }
}
