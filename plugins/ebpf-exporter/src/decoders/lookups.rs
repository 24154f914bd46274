//! The decoders that ask the host: `errno`, `syscall`, `ifname`, `ksym`,
//! `kstack` and `cgroup`, and in [`devices`] `majorminor` and the `pci_*`
//! decoders, with the caches that keep them cheap.
//!
//! The host answers from bounded caches but counts every call against the
//! collection's budget (100,000 calls, past which it answers none), and a
//! call costs a trip out of the sandbox. So every answer is cached here by
//! the number asked: a name is kept across scrapes (as `ebpf_exporter`'s own
//! decoders keep theirs: syscall and errno names never change, cgroup ids
//! are never reused), a miss only for the rest of the scrape, so an id the
//! host learns later resolves at the next one.

mod devices;

use std::collections::HashMap;
use std::hash::Hash;

use bpfhost_plugin_sdk::lookup;

use super::Out;
use super::text::{parse_decimal, parse_signed};

/// Where `ebpf_exporter`'s cgroup monitor walks the hierarchy: its paths
/// start with this, the host's are relative to the v2 root.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Most names a cache keeps from one scrape to the next.
const CACHE_ENTRIES: usize = 65_536;

/// Cached answers of every host lookup the decoders use.
#[derive(Debug, Default)]
pub struct Lookups {
    errno: Cache<u32>,
    syscall: Cache<u32>,
    ifname: Cache<u32>,
    ksym: Cache<u64>,
    cgroup: Cache<u64>,
    /// By `dev_t`.
    majorminor: Cache<u32>,
    pci_vendor: Cache<u16>,
    /// By `vendor << 16 | device`.
    pci_device: Cache<u32>,
    pci_class: Cache<u8>,
    /// By `class << 8 | subclass`.
    pci_subclass: Cache<u16>,
    /// Whether the host has a PCI ID database; `false` is asked again at
    /// the next scrape.
    pci_ids: Option<bool>,
}

/// Answers by key: `Some` names are kept, `None` misses dropped at the
/// next scrape.
#[derive(Debug)]
struct Cache<K> {
    answers: HashMap<K, Option<Box<str>>>,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Self {
            answers: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> Cache<K> {
    fn get(&mut self, key: K, ask: impl FnOnce(K) -> Option<String>) -> Option<&str> {
        self.answers
            .entry(key)
            .or_insert_with(|| ask(key).map(String::into_boxed_str))
            .as_deref()
    }

    /// Within a scrape the cache holds at most one answer per number the
    /// maps hold; between scrapes it keeps the names, up to a bound.
    fn new_scrape(&mut self) {
        if self.answers.len() > CACHE_ENTRIES {
            self.answers.clear();
        } else {
            self.answers.retain(|_, answer| answer.is_some());
        }
    }
}

impl Lookups {
    /// Forgets the misses of the scrape before.
    pub fn new_scrape(&mut self) {
        self.errno.new_scrape();
        self.syscall.new_scrape();
        self.ifname.new_scrape();
        self.ksym.new_scrape();
        self.cgroup.new_scrape();
        self.majorminor.new_scrape();
        self.pci_vendor.new_scrape();
        self.pci_device.new_scrape();
        self.pci_class.new_scrape();
        self.pci_subclass.new_scrape();
        if self.pci_ids == Some(false) {
            self.pci_ids = None;
        }
    }

    /// `errno`: decimal text (what `uint` makes) → `EPERM`, `unknown:N`.
    pub fn errno(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        let number = parse_decimal(input)
            .ok_or_else(|| format!("error parsing {} as uint", quoted(input)))?;
        // The host also names negative values; `ebpf_exporter`'s input is
        // unsigned, so only 1..=i32::MAX can have a name.
        let name = match u32::try_from(number) {
            Ok(n @ 1..=0x7fff_ffff) => self.errno.get(n, |n| lookup::errno_name(n.cast_signed())),
            _ => None,
        };
        match name {
            Some(name) => out.push_str(name),
            None => out.push_fmt(format_args!("unknown:{number}")),
        }
        Ok(())
    }

    /// `syscall`: decimal text → `openat`, `unknown_syscall:N`.
    pub fn syscall(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        // Go's Atoi, then the number as unsigned (so -1 is 2^64-1).
        let number = parse_signed(input)
            .ok_or_else(|| format!("error parsing {} as an integer", quoted(input)))?
            .cast_unsigned();
        let name = u32::try_from(number)
            .ok()
            .and_then(|n| self.syscall.get(n, lookup::syscall_name));
        match name {
            Some(name) => out.push_str(name),
            None => out.push_fmt(format_args!("unknown_syscall:{number}")),
        }
        Ok(())
    }

    /// `ifname`: the first 4 bytes as an ifindex → `eth0`, `unknown:N`.
    pub fn ifname(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        let index = u32::from_le_bytes(first(input)?);
        match self.ifname.get(index, lookup::interface_name) {
            Some(name) => out.push_str(name),
            None => out.push_fmt(format_args!("unknown:{index}")),
        }
        Ok(())
    }

    /// `ksym`: the first 8 bytes as an address → the kernel function that
    /// starts there, `unknown_addr:0x…` for any other address.
    pub fn ksym(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        let address = u64::from_le_bytes(first(input)?);
        match self.symbol_at(address) {
            Some(name) => out.push_str(name),
            None => out.push_fmt(format_args!("unknown_addr:{address:#x}")),
        }
        Ok(())
    }

    /// `kstack`: 8-byte addresses up to the first 0, each resolved to the
    /// function containing it (`??` when none), one per line.
    pub fn kstack(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        if !input.len().is_multiple_of(8) {
            return Err(format!(
                "a stack is 8-byte addresses, the input has {} bytes",
                input.len()
            ));
        }
        let addresses = input
            .chunks_exact(8)
            .map(|frame| u64::from_le_bytes(frame.try_into().unwrap_or_default()))
            .take_while(|&address| address != 0);
        for (i, address) in addresses.enumerate() {
            if i > 0 {
                out.push_ascii(b'\n');
            }
            let name = self.ksym.get(address, lookup::kernel_symbol);
            out.push_str(name.unwrap_or("??"));
        }
        Ok(())
    }

    /// `cgroup`: decimal text → the cgroup's path under `/sys/fs/cgroup`,
    /// `unknown_cgroup_id:N`.
    pub fn cgroup(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        let id = parse_signed(input)
            .ok_or_else(|| format!("error parsing {} as an integer", quoted(input)))?;
        let path = u64::try_from(id)
            .ok()
            .and_then(|id| self.cgroup.get(id, lookup::cgroup_path));
        match path {
            Some(path) => {
                out.push_str(CGROUP_ROOT);
                if path != "/" {
                    out.push_str(path);
                }
            }
            None => out.push_fmt(format_args!("unknown_cgroup_id:{id}")),
        }
        Ok(())
    }

    /// The kernel function that starts exactly at `address`.
    ///
    /// The host names the function *containing* an address, as `kstack`
    /// wants; `ebpf_exporter`'s `ksym` only names a symbol's own address.
    /// An address is a function's start when the byte before it belongs to
    /// another function (or to none).
    fn symbol_at(&mut self, address: u64) -> Option<&str> {
        let before = address.checked_sub(1);
        if let Some(before) = before {
            self.ksym.get(before, lookup::kernel_symbol);
        }
        self.ksym.get(address, lookup::kernel_symbol)?;
        let starts_here = match before {
            Some(before) => self.ksym.answers.get(&before) != self.ksym.answers.get(&address),
            None => true,
        };
        if starts_here {
            self.ksym.answers.get(&address)?.as_deref()
        } else {
            None
        }
    }
}

/// The first `N` bytes, or an error saying how many there are.
fn first<const N: usize>(input: &[u8]) -> Result<[u8; N], String> {
    input
        .get(..N)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| format!("needs {N} bytes, the input has {}", input.len()))
}

/// Input text for messages.
fn quoted(input: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(input))
}

#[cfg(test)]
mod tests;
