//! Kernel symbols from `/proc/kallsyms`.
//!
//! The table is read once, on the first call, and again on a miss at most
//! every [`CacheBounds::relist_interval`] (modules come and go). Under kernel
//! lockdown, or without `CAP_SYSLOG`, every address reads as 0: the table is
//! then empty and every lookup returns `None`.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use super::{Budget, CacheBounds, due};
use crate::sys::lock;

/// Most symbols kept; a kernel with every module loaded has a few hundred
/// thousand.
const MAX_SYMBOLS: usize = 2_000_000;

#[derive(Debug)]
pub(super) struct Kallsyms {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    table: Table,
    read_at: Option<Instant>,
}

/// Text symbols sorted by address; names packed into one string.
#[derive(Debug, Default)]
struct Table {
    /// `(address, start, end)` of each name in `names`.
    symbols: Vec<(u64, u32, u32)>,
    names: String,
}

impl Kallsyms {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            state: Mutex::default(),
        }
    }

    pub(super) fn lookup(
        &self,
        address: u64,
        now: Instant,
        bounds: CacheBounds,
        budget: &mut Budget,
    ) -> Option<String> {
        let mut state = lock(&self.state);
        if let Some(name) = state.table.find(address) {
            return Some(name.to_owned());
        }
        if !due(state.read_at, now, bounds.relist_interval) || !budget.read() {
            return None;
        }
        state.read_at = Some(now);
        // An unreadable file is an empty table: the lookup answers `None`.
        state.table = std::fs::read_to_string(&self.path)
            .map(|text| Table::parse(&text))
            .unwrap_or_default();
        state.table.find(address).map(str::to_owned)
    }
}

impl Table {
    /// Text symbols (`t`/`T`/`w`/`W`) with a non-zero address.
    fn parse(text: &str) -> Self {
        let mut table = Self::default();
        for line in text.lines() {
            if table.symbols.len() >= MAX_SYMBOLS {
                break;
            }
            let mut fields = line.split_whitespace();
            let (Some(address), Some(kind), Some(name)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Ok(address) = u64::from_str_radix(address, 16) else {
                continue;
            };
            if address == 0 || !matches!(kind, "t" | "T" | "w" | "W") {
                continue;
            }
            let (Ok(start), Ok(end)) = (
                u32::try_from(table.names.len()),
                u32::try_from(table.names.len() + name.len()),
            ) else {
                break;
            };
            table.names.push_str(name);
            table.symbols.push((address, start, end));
        }
        table.symbols.sort_unstable_by_key(|s| s.0);
        table
    }

    /// The symbol at or before `address`; none past the last symbol, whose
    /// end is unknown.
    fn find(&self, address: u64) -> Option<&str> {
        let after = self.symbols.partition_point(|s| s.0 <= address);
        if after == 0 || after == self.symbols.len() {
            return None;
        }
        let (_, start, end) = self.symbols[after - 1];
        self.names.get(start as usize..end as usize)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const KALLSYMS: &str = "\
ffffffff81000000 T _stext
ffffffff81000000 T startup_64
ffffffff81001000 t do_one_initcall
ffffffff81002000 D some_data
ffffffff81003000 T vfs_write
ffffffff81004000 T vfs_read
ffffffffc0001000 t nf_hook [nf_tables]
ffffffffc0002000 T end_marker [nf_tables]
";

    fn kallsyms(text: &str) -> (tempfile::TempDir, Kallsyms) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kallsyms");
        std::fs::write(&path, text).expect("write kallsyms");
        (dir, Kallsyms::new(path))
    }

    fn lookup(k: &Kallsyms, address: u64) -> Option<String> {
        k.lookup(
            address,
            Instant::now(),
            CacheBounds::default(),
            &mut Budget::default(),
        )
    }

    #[test]
    fn an_address_resolves_to_the_function_containing_it() {
        let (_dir, k) = kallsyms(KALLSYMS);
        assert_eq!(
            lookup(&k, 0xffff_ffff_8100_3000).as_deref(),
            Some("vfs_write")
        );
        assert_eq!(
            lookup(&k, 0xffff_ffff_8100_3abc).as_deref(),
            Some("vfs_write")
        );
        // Data symbols are skipped: the text symbol before them covers it.
        assert_eq!(
            lookup(&k, 0xffff_ffff_8100_2010).as_deref(),
            Some("do_one_initcall")
        );
        assert_eq!(
            lookup(&k, 0xffff_ffff_c000_1004).as_deref(),
            Some("nf_hook")
        );
        assert_eq!(lookup(&k, 0x1000), None, "before the first symbol");
        assert_eq!(lookup(&k, u64::MAX), None, "past the last symbol");
    }

    #[test]
    fn under_lockdown_every_address_is_zero_and_nothing_resolves() {
        let zeros = KALLSYMS.replace("ffffffff8100", "000000000000");
        let zeros = zeros.replace("ffffffffc000", "000000000000");
        let (_dir, k) = kallsyms(&zeros);
        assert_eq!(lookup(&k, 0xffff_ffff_8100_3000), None);
        assert_eq!(lookup(&k, 0), None);
    }

    #[test]
    fn a_miss_rereads_at_most_once_per_interval() {
        let (dir, k) = kallsyms("");
        let bounds = CacheBounds {
            relist_interval: Duration::from_mins(1),
            ..CacheBounds::default()
        };
        let now = Instant::now();
        let mut budget = Budget::default();
        assert_eq!(
            k.lookup(0xffff_ffff_8100_3000, now, bounds, &mut budget),
            None
        );
        std::fs::write(dir.path().join("kallsyms"), KALLSYMS).expect("rewrite");
        assert_eq!(
            k.lookup(0xffff_ffff_8100_3000, now, bounds, &mut budget),
            None
        );
        let later = now + bounds.relist_interval;
        assert_eq!(
            k.lookup(0xffff_ffff_8100_3000, later, bounds, &mut budget)
                .as_deref(),
            Some("vfs_write")
        );
        assert_eq!(budget.reads, Budget::default().reads - 2);
    }

    #[test]
    fn this_machines_kallsyms_resolves_a_function_or_hides_every_address() {
        let text = std::fs::read_to_string("/proc/kallsyms").expect("read /proc/kallsyms");
        let address = text
            .lines()
            .find_map(|line| line.strip_suffix(" T vfs_write"))
            .and_then(|a| u64::from_str_radix(a, 16).ok())
            .expect("vfs_write in kallsyms");
        let k = Kallsyms::new("/proc/kallsyms".into());
        let want = (address != 0).then(|| "vfs_write".to_owned());
        assert_eq!(lookup(&k, address.saturating_add(1)), want);
        if address == 0 {
            eprintln!("kallsyms hides addresses here: the ksym lookup answers none");
        }
    }
}
