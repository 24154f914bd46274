//! Kernel symbol addresses for `kaddrs`, from `/proc/kallsyms`, read once
//! per process on first use (as `ebpf_exporter` does).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Where kernel symbols are listed.
const KALLSYMS: &str = "/proc/kallsyms";

/// The kernel's symbols by name, loaded on first use.
#[derive(Debug, Clone)]
pub struct Kallsyms {
    path: PathBuf,
    symbols: Arc<OnceLock<Result<HashMap<String, u64>, String>>>,
}

impl Default for Kallsyms {
    fn default() -> Self {
        Self::at(PathBuf::from(KALLSYMS))
    }
}

impl Kallsyms {
    /// Symbols listed in `path`, in `/proc/kallsyms` format.
    pub fn at(path: PathBuf) -> Self {
        Self {
            path,
            symbols: Arc::default(),
        }
    }

    /// The address of `symbol`; an error saying why there is none.
    pub fn address(&self, symbol: &str) -> Result<u64, String> {
        let symbols = self.symbols.get_or_init(|| {
            std::fs::read_to_string(&self.path)
                .map(|text| parse(&text))
                .map_err(|e| format!("cannot read {}: {e}", self.path.display()))
        });
        let symbols = symbols.as_ref().map_err(Clone::clone)?;
        match symbols.get(symbol) {
            Some(0) => Err(format!(
                "the address of kernel symbol `{symbol}` reads as 0 in {}: \
                 run as root (kernel.kptr_restrict hides addresses otherwise)",
                self.path.display()
            )),
            Some(&address) => Ok(address),
            None => Err(format!(
                "kernel symbol `{symbol}` not found in {}",
                self.path.display()
            )),
        }
    }
}

/// `address type name [module]` lines; the first address of a name wins.
fn parse(text: &str) -> HashMap<String, u64> {
    let mut symbols = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(address), Some(_kind), Some(name)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if let Ok(address) = u64::from_str_radix(address, 16) {
            symbols.entry(name.to_owned()).or_insert(address);
        }
    }
    symbols
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kallsyms(text: &str) -> (tempfile::TempDir, Kallsyms) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kallsyms");
        std::fs::write(&path, text).expect("write");
        (dir, Kallsyms::at(path))
    }

    #[test]
    fn finds_the_address_of_a_symbol() {
        let (_dir, syms) = kallsyms(
            "ffffffff81000000 T _stext\n\
             ffffffff82a3c5e0 D jiffies_64\n\
             ffffffffc0a01000 t xfs_fs_sync [xfs]\n",
        );
        assert_eq!(syms.address("jiffies_64"), Ok(0xffff_ffff_82a3_c5e0));
        assert_eq!(syms.address("xfs_fs_sync"), Ok(0xffff_ffff_c0a0_1000));
        assert_eq!(
            syms.address("nope")
                .map_err(|e| e.contains("`nope` not found")),
            Err(true)
        );
    }

    #[test]
    fn hidden_addresses_say_how_to_see_them() {
        let (_dir, syms) = kallsyms("0000000000000000 D jiffies_64\n");
        let error = syms.address("jiffies_64").expect_err("hidden");
        assert!(error.contains("run as root"), "{error}");
    }
}
