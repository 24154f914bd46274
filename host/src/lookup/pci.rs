//! PCI vendor, device, class and subclass names from the PCI ID database
//! (`pci.ids`, Debian's package of that name).
//!
//! The first call reads the first of [`super::Roots::pci_ids`] that exists,
//! once, and keeps only what the lookups answer: vendor and device names
//! (not subsystems) and class and subclass names (not programming
//! interfaces), packed into one string with sorted indexes (about 1 MiB
//! for the whole database). The file read is capped at
//! [`MAX_FILE_BYTES`], the entries at [`MAX_ENTRIES`]. A host without the
//! database answers `None` to everything, and says so
//! ([`PciIds::available`]).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{Budget, CacheBounds};

/// Most bytes read from the database (it has about 1.4 MB).
const MAX_FILE_BYTES: u64 = 16 << 20;
/// Most names kept, all tables together (it has about 21,000).
const MAX_ENTRIES: usize = 200_000;

#[derive(Debug)]
pub(super) struct PciIds {
    paths: Vec<PathBuf>,
    max_name_bytes: usize,
    /// `None` inside: no database on this host.
    db: OnceLock<Option<Database>>,
}

/// Where each name is in [`Database::names`].
type Span = (u32, u32);

/// The names, by id, each table sorted by its key.
#[derive(Debug, Default)]
struct Database {
    names: String,
    vendors: Vec<(u16, Span)>,
    /// Keyed by `vendor << 16 | device`.
    devices: Vec<(u32, Span)>,
    classes: Vec<(u8, Span)>,
    /// Keyed by `class << 8 | subclass`.
    subclasses: Vec<(u16, Span)>,
}

impl PciIds {
    pub(super) fn new(paths: Vec<PathBuf>, bounds: CacheBounds) -> Self {
        Self {
            paths,
            max_name_bytes: bounds.max_string_bytes,
            db: OnceLock::new(),
        }
    }

    /// Whether the host has a database (reading it on the first call).
    pub(super) fn available(&self, budget: &mut Budget) -> bool {
        self.database(budget).is_some()
    }

    pub(super) fn vendor(&self, vendor: u16, budget: &mut Budget) -> Option<String> {
        let db = self.database(budget)?;
        db.find(&db.vendors, vendor)
    }

    pub(super) fn device(&self, vendor: u16, device: u16, budget: &mut Budget) -> Option<String> {
        let db = self.database(budget)?;
        db.find(&db.devices, u32::from(vendor) << 16 | u32::from(device))
    }

    pub(super) fn class(&self, class: u8, budget: &mut Budget) -> Option<String> {
        let db = self.database(budget)?;
        db.find(&db.classes, class)
    }

    pub(super) fn subclass(&self, class: u8, subclass: u8, budget: &mut Budget) -> Option<String> {
        let db = self.database(budget)?;
        db.find(&db.subclasses, u16::from(class) << 8 | u16::from(subclass))
    }

    /// The database, read on the first call that has a read left in its
    /// budget.
    fn database(&self, budget: &mut Budget) -> Option<&Database> {
        if let Some(db) = self.db.get() {
            return db.as_ref();
        }
        if !budget.read() {
            return None;
        }
        self.db.get_or_init(|| self.load()).as_ref()
    }

    fn load(&self) -> Option<Database> {
        let path = self.paths.iter().find(|p| p.is_file())?;
        match read(path) {
            Ok(text) => {
                let db = Database::parse(&text, self.max_name_bytes);
                tracing::debug!(
                    path = %path.display(),
                    vendors = db.vendors.len(),
                    devices = db.devices.len(),
                    name_bytes = db.names.len(),
                    "PCI ID database read"
                );
                Some(db)
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read the PCI ID database");
                None
            }
        }
    }
}

fn read(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)?;
    // Names are UTF-8 in the upstream database; a stray byte costs its name.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The section a tab-indented line belongs to.
#[derive(Clone, Copy)]
enum Parent {
    None,
    Vendor(u16),
    Class(u8),
}

impl Database {
    /// Reads the database's line format:
    ///
    /// ```text
    /// vendor  name
    /// \tdevice  name
    /// \t\tsubvendor subdevice  name      (skipped)
    /// C class  name
    /// \tsubclass  name
    /// \t\tprog-if  name                  (skipped)
    /// ```
    ///
    /// Ids are lowercase hex; `#` starts a comment. Lines that do not
    /// parse are skipped, so a damaged file loses only those lines. A
    /// repeated id keeps its last name.
    fn parse(text: &str, max_name_bytes: usize) -> Self {
        let mut db = Self::default();
        let mut parent = Parent::None;
        for line in text.lines() {
            if db.entries() >= MAX_ENTRIES {
                break;
            }
            if line.starts_with('#') || line.trim().is_empty() || line.starts_with("\t\t") {
                continue;
            }
            if let Some(child) = line.strip_prefix('\t') {
                let Some((id, name)) = entry(child) else {
                    continue;
                };
                match (parent, id.len()) {
                    (Parent::Vendor(vendor), 4) => {
                        if let Ok(device) = u16::from_str_radix(id, 16) {
                            let key = u32::from(vendor) << 16 | u32::from(device);
                            db.add(Table::Device(key), name, max_name_bytes);
                        }
                    }
                    (Parent::Class(class), 2) => {
                        if let Ok(subclass) = u8::from_str_radix(id, 16) {
                            let key = u16::from(class) << 8 | u16::from(subclass);
                            db.add(Table::Subclass(key), name, max_name_bytes);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            parent = Parent::None;
            if let Some(class) = line.strip_prefix("C ") {
                if let Some((id, name)) = entry(class).filter(|(id, _)| id.len() == 2)
                    && let Ok(class) = u8::from_str_radix(id, 16)
                {
                    parent = Parent::Class(class);
                    db.add(Table::Class(class), name, max_name_bytes);
                }
            } else if let Some((id, name)) = entry(line).filter(|(id, _)| id.len() == 4)
                && let Ok(vendor) = u16::from_str_radix(id, 16)
            {
                parent = Parent::Vendor(vendor);
                db.add(Table::Vendor(vendor), name, max_name_bytes);
            }
        }
        db.vendors = sorted(std::mem::take(&mut db.vendors));
        db.devices = sorted(std::mem::take(&mut db.devices));
        db.classes = sorted(std::mem::take(&mut db.classes));
        db.subclasses = sorted(std::mem::take(&mut db.subclasses));
        db.names.shrink_to_fit();
        db
    }

    fn entries(&self) -> usize {
        self.vendors.len() + self.devices.len() + self.classes.len() + self.subclasses.len()
    }

    fn add(&mut self, table: Table, name: &str, max_name_bytes: usize) {
        if name.len() > max_name_bytes {
            return;
        }
        let (Ok(start), Ok(end)) = (
            u32::try_from(self.names.len()),
            u32::try_from(self.names.len() + name.len()),
        ) else {
            return;
        };
        self.names.push_str(name);
        let span = (start, end);
        match table {
            Table::Vendor(k) => self.vendors.push((k, span)),
            Table::Device(k) => self.devices.push((k, span)),
            Table::Class(k) => self.classes.push((k, span)),
            Table::Subclass(k) => self.subclasses.push((k, span)),
        }
    }

    fn find<K: Ord + Copy>(&self, table: &[(K, Span)], key: K) -> Option<String> {
        let i = table.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        let (start, end) = table[i].1;
        self.names
            .get(start as usize..end as usize)
            .map(str::to_owned)
    }
}

/// Which table a name goes to, with its key.
#[derive(Clone, Copy)]
enum Table {
    Vendor(u16),
    Device(u32),
    Class(u8),
    Subclass(u16),
}

/// `id  name`: the id, then the name after the whitespace that follows it.
fn entry(line: &str) -> Option<(&str, &str)> {
    let (id, name) = line.split_once(char::is_whitespace)?;
    let name = name.trim();
    let hex = !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && !name.is_empty()).then_some((id, name))
}

/// Sorted by key, the last of equal keys kept.
fn sorted<K: Ord + Copy>(mut table: Vec<(K, Span)>) -> Vec<(K, Span)> {
    table.reverse();
    table.sort_by_key(|(k, _)| *k);
    table.dedup_by_key(|(k, _)| *k);
    table.shrink_to_fit();
    table
}

#[cfg(test)]
mod tests;
