//! The decoders that name hardware: `majorminor` (block devices) and
//! `pci_vendor`, `pci_device`, `pci_class`, `pci_subclass` (the PCI ID
//! database), rendered as `ebpf_exporter`'s `decoder/majorminor.go` and
//! `decoder/pci_*.go` render them, unknown ids included.
//!
//! The `pci_*` decoders read decimal text (what `uint` makes) and, as
//! upstream, look the number up by its hex text in Go's `%02x` / `%04x`
//! form: an id that does not print as the database's four (vendor),
//! eight (vendor and device) or two (class) hex digits is unknown even
//! when the database lists it (vendor `0x0e11` prints as `e11`).

use bpfhost_plugin_sdk::lookup;

use super::super::Out;
use super::super::text::parse_signed;
use super::{Lookups, first, quoted};

/// What the `pci_*` decoders answer on a host without `pci.ids`.
const MISSING_PCI_IDS: &str = "missing pci.ids db";

impl Lookups {
    /// `majorminor`: the first 4 bytes as a kernel `dev_t`
    /// (`new_encode_dev`) → the block device's name, `unknown:MAJ:MIN`.
    pub fn majorminor(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        let dev = u32::from_le_bytes(first(input)?);
        // glibc's major() and minor(), which Go's unix.Major/Minor copy.
        let major = (dev >> 8) & 0xfff;
        let minor = (dev & 0xff) | ((dev >> 12) & 0x000f_ff00);
        match self
            .majorminor
            .get(dev, |_| lookup::block_device_name(major, minor))
        {
            Some(name) => out.push_str(name),
            None => out.push_fmt(format_args!("unknown:{major}:{minor}")),
        }
        Ok(())
    }

    /// `pci_vendor`: decimal vendor id → `Intel Corporation`,
    /// `unknown pci vendor: 0x…`.
    pub fn pci_vendor(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        let Some(id) = self.pci_id(input, out)? else {
            return Ok(());
        };
        let name = u16::try_from(id)
            .ok()
            .filter(|&v| v >= 0x1000)
            .and_then(|v| self.pci_vendor.get(v, lookup::pci_vendor_name));
        match name {
            Some(name) => out.push_str(name),
            None => out.push_fmt(format_args!("unknown pci vendor: 0x{}", GoHex(id, 2))),
        }
        Ok(())
    }

    /// `pci_device`: decimal `vendor << 16 | device` → the device's name,
    /// `unknown pci device: 0x…`.
    pub fn pci_device(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        let Some(id) = self.pci_id(input, out)? else {
            return Ok(());
        };
        let name = u32::try_from(id)
            .ok()
            .filter(|&d| d >= 0x1000_0000)
            .and_then(|d| {
                self.pci_device.get(d, |d| {
                    let [v1, v0, d1, d0] = d.to_be_bytes();
                    lookup::pci_device_name(
                        u16::from_be_bytes([v1, v0]),
                        u16::from_be_bytes([d1, d0]),
                    )
                })
            });
        match name {
            Some(name) => out.push_str(name),
            None => out.push_fmt(format_args!("unknown pci device: 0x{}", GoHex(id, 4))),
        }
        Ok(())
    }

    /// `pci_class`: decimal class → `Network controller`,
    /// `unknown pci class: 0x…`.
    pub fn pci_class(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        let Some(id) = self.pci_id(input, out)? else {
            return Ok(());
        };
        match self.class_name(id) {
            Some(name) => out.push_str(name),
            None => out.push_fmt(format_args!("unknown pci class: 0x{}", GoHex(id, 2))),
        }
        Ok(())
    }

    /// `pci_subclass`: decimal `class << 8 | subclass` → `Ethernet
    /// controller`, `unknown pci subclass: 0x… (class 0x…)` in a known
    /// class, `unknown pci class: 0x…` otherwise.
    pub fn pci_subclass(&mut self, input: &[u8], out: &mut impl Out) -> Result<(), String> {
        let Some(id) = self.pci_id(input, out)? else {
            return Ok(());
        };
        // Go's `num >> 8` (arithmetic) and `num & 0xff` on its int.
        let (class, subclass) = (id >> 8, id & 0xff);
        if self.class_name(class).is_none() {
            out.push_fmt(format_args!("unknown pci class: 0x{}", GoHex(class, 2)));
            return Ok(());
        }
        let key = u16::try_from(id).unwrap_or_default();
        let name = self.pci_subclass.get(key, |key| {
            let [class, subclass] = key.to_be_bytes();
            lookup::pci_subclass_name(class, subclass)
        });
        match name {
            Some(name) => out.push_str(name),
            None => out.push_fmt(format_args!(
                "unknown pci subclass: 0x{} (class 0x{})",
                GoHex(subclass, 2),
                GoHex(class, 2)
            )),
        }
        Ok(())
    }

    /// The decimal id of a `pci_*` decoder's input, or `None` when the
    /// host has no database (and `out` says so, as upstream).
    fn pci_id(&mut self, input: &[u8], out: &mut impl Out) -> Result<Option<i64>, String> {
        if !*self.pci_ids.get_or_insert_with(lookup::has_pci_ids) {
            out.push_str(MISSING_PCI_IDS);
            return Ok(None);
        }
        parse_signed(input)
            .map(Some)
            .ok_or_else(|| format!("error parsing {} as an integer", quoted(input)))
    }

    fn class_name(&mut self, class: i64) -> Option<&str> {
        let class = u8::try_from(class).ok()?;
        self.pci_class.get(class, lookup::pci_class_name)
    }
}

/// Go's `%0Nx` of an `int`: at least `N` characters, zero-padded after
/// the sign of a negative number.
struct GoHex(i64, usize);

impl std::fmt::Display for GoHex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self(n, width) = *self;
        if n < 0 {
            let width = width.saturating_sub(1);
            write!(f, "-{:0width$x}", n.unsigned_abs())
        } else {
            write!(f, "{n:0width$x}")
        }
    }
}

#[cfg(test)]
mod tests;
