//! Conformance with libbpf: whether bpfhost's loader loads every object that
//! libbpf (through `bpftool prog loadall`) loads on the running kernel.
//!
//! Both sides load all of an object's programs and attach none: bpftool pins
//! them under a fresh directory of `/sys/fs/bpf` (removed right after), the
//! loader uses [`load_unattached`] and drops the result. Used by the
//! corpus's kernel test and by `cargo xtask conformance`.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::loader::load_unattached;

/// How many lines of bpftool's output a refusal keeps.
const DETAIL_LINES: usize = 25;

/// What one loader made of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Loaded,
    Refused {
        /// The line that says why.
        reason: String,
        /// More of the output (bpftool's last lines, the full error chain).
        detail: String,
    },
}

impl Verdict {
    pub fn loaded(&self) -> bool {
        matches!(self, Self::Loaded)
    }

    /// `loaded`, or the reason.
    pub fn summary(&self) -> &str {
        match self {
            Self::Loaded => "loaded",
            Self::Refused { reason, .. } => reason,
        }
    }
}

/// One object and what each loader made of it.
#[derive(Debug, Clone)]
pub struct Row {
    pub object: PathBuf,
    pub libbpf: Verdict,
    pub bpfhost: Verdict,
}

impl Row {
    /// libbpf loads it and bpfhost refuses it: what conformance forbids.
    pub fn is_regression(&self) -> bool {
        self.libbpf.loaded() && !self.bpfhost.loaded()
    }
}

/// Runs both loaders over one object.
pub fn compare(object: &Path) -> Row {
    Row {
        object: object.to_owned(),
        libbpf: libbpf(object),
        bpfhost: bpfhost(object),
    }
}

/// The `*.bpf.o` files under `path` (or `path` itself), sorted.
///
/// # Errors
/// When a directory cannot be read.
pub fn objects(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            found.extend(objects(&entry?.path())?);
        }
    } else if path.to_string_lossy().ends_with(".bpf.o") {
        found.push(path.to_owned());
    }
    found.sort();
    Ok(found)
}

/// `bpftool prog loadall OBJECT /sys/fs/bpf/<fresh dir>`, pins removed after.
pub fn libbpf(object: &Path) -> Verdict {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let pins = PathBuf::from(format!(
        "/sys/fs/bpf/bpfhost-conformance-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let output = Command::new("bpftool")
        .args(["prog", "loadall"])
        .arg(object)
        .arg(&pins)
        .output();
    // Pins keep programs loaded; a partial failure may leave some.
    let _ = std::fs::remove_dir_all(&pins);
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            return Verdict::Refused {
                reason: format!("running bpftool failed (apt-get install bpftool): {error}"),
                detail: String::new(),
            };
        }
    };
    if output.status.success() {
        return Verdict::Loaded;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Verdict::Refused {
        reason: libbpf_reason(&stderr),
        detail: tail(&stderr, DETAIL_LINES),
    }
}

/// bpfhost's loader, every program loaded and none attached.
pub fn bpfhost(object: &Path) -> Verdict {
    let elf = match std::fs::read(object) {
        Ok(elf) => elf,
        Err(error) => {
            return Verdict::Refused {
                reason: format!("reading {}: {error}", object.display()),
                detail: String::new(),
            };
        }
    };
    match load_unattached("conformance", &elf) {
        Ok(loaded) => {
            drop(loaded);
            Verdict::Loaded
        }
        Err(error) => {
            let chain = crate::error_chain(&error);
            Verdict::Refused {
                reason: chain.lines().next().unwrap_or_default().to_owned(),
                detail: format!("{chain}\n{}", error.verifier_log_tail().unwrap_or_default()),
            }
        }
    }
}

/// The most telling line of libbpf's complaints: the first that says what
/// failed (a program, a map, an extern, a section), else the last line.
fn libbpf_reason(stderr: &str) -> String {
    let telling = |line: &&str| {
        line.starts_with("libbpf:")
            && !line.contains("-- BEGIN")
            && !line.contains("-- END")
            && !line.contains("Retrying without BTF")
            && [
                "fail",
                "error",
                "unknown",
                "invalid",
                "missing",
                "unsupported",
            ]
            .iter()
            .any(|word| line.to_lowercase().contains(word))
    };
    stderr
        .lines()
        .find(telling)
        .or_else(|| stderr.lines().rfind(|l| !l.trim().is_empty()))
        .unwrap_or("bpftool failed without a message")
        .to_owned()
}

/// The last `n` lines of `text`, without the lines of bpftool's
/// strict-mode warning that follows every failure.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("Warning: bpftool is now running in libbpf strict mode"))
        .filter(|l| !l.starts_with("If it used to work for this object file"))
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The figures of a run: objects, loaded by each side, and the differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub objects: usize,
    pub libbpf_loads: usize,
    pub bpfhost_loads: usize,
    /// libbpf loads, bpfhost refuses.
    pub regressions: usize,
    /// bpfhost loads, libbpf refuses.
    pub only_bpfhost: usize,
}

impl Figures {
    pub fn of(rows: &[Row]) -> Self {
        let count = |f: fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count();
        Self {
            objects: rows.len(),
            libbpf_loads: count(|r| r.libbpf.loaded()),
            bpfhost_loads: count(|r| r.bpfhost.loaded()),
            regressions: count(Row::is_regression),
            only_bpfhost: count(|r| r.bpfhost.loaded() && !r.libbpf.loaded()),
        }
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} objects: libbpf loads {}, bpfhost loads {}; \
             libbpf loads but bpfhost refuses: {}; bpfhost loads but libbpf refuses: {}",
            self.objects,
            self.libbpf_loads,
            self.bpfhost_loads,
            self.regressions,
            self.only_bpfhost
        )
    }
}

/// A Markdown table: object, libbpf's result, bpfhost's result (reasons
/// cut to `width` characters).
pub fn table(rows: &[Row], width: usize) -> String {
    let cut = |text: &str| -> String {
        let short = match text.char_indices().nth(width) {
            Some((at, _)) => format!("{}…", &text[..at]),
            None => text.to_owned(),
        };
        short.replace('|', "\\|")
    };
    let mut out = String::from("| object | libbpf | bpfhost |\n| --- | --- | --- |\n");
    for row in rows {
        let name = row.object.file_name().map_or_else(
            || row.object.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let _ = writeln!(
            out,
            "| {name} | {} | {} |",
            cut(row.libbpf.summary()),
            cut(row.bpfhost.summary())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP_FAILURE: &str = "libbpf: loaded kernel BTF from '/sys/kernel/btf/vmlinux'\n\
        libbpf: map 'stackmap': failed to create: Invalid argument(-22)\n\
        libbpf: failed to load object 'x.bpf.o'\n\
        Error: failed to load object file\n\
        Warning: bpftool is now running in libbpf strict mode and has more stringent requirements about BPF programs.\n\
        If it used to work for this object file but now doesn't, see --legacy option for more details.\n";

    #[test]
    fn the_reason_is_the_first_line_naming_what_failed() {
        assert_eq!(
            libbpf_reason(MAP_FAILURE),
            "libbpf: map 'stackmap': failed to create: Invalid argument(-22)"
        );
        assert_eq!(
            libbpf_reason("Error: no such file\n"),
            "Error: no such file"
        );
        let retried = "libbpf: Error in bpf_create_map_xattr(start):Invalid argument(-22). Retrying without BTF.\n\
            libbpf: map 'start': failed to create: Invalid argument(-22)\n";
        assert_eq!(
            libbpf_reason(retried),
            "libbpf: map 'start': failed to create: Invalid argument(-22)"
        );
    }

    #[test]
    fn the_detail_drops_the_strict_mode_warning() {
        let detail = tail(MAP_FAILURE, 2);
        assert_eq!(
            detail,
            "libbpf: failed to load object 'x.bpf.o'\nError: failed to load object file"
        );
    }

    fn row(name: &str, libbpf: bool, bpfhost: bool) -> Row {
        let verdict = |loaded| {
            if loaded {
                Verdict::Loaded
            } else {
                Verdict::Refused {
                    reason: "no | good".into(),
                    detail: String::new(),
                }
            }
        };
        Row {
            object: PathBuf::from(format!("/x/{name}.bpf.o")),
            libbpf: verdict(libbpf),
            bpfhost: verdict(bpfhost),
        }
    }

    #[test]
    fn figures_count_each_kind_of_difference() {
        let rows = [
            row("a", true, true),
            row("b", true, false),
            row("c", false, false),
            row("d", false, true),
        ];
        assert_eq!(
            Figures::of(&rows),
            Figures {
                objects: 4,
                libbpf_loads: 2,
                bpfhost_loads: 2,
                regressions: 1,
                only_bpfhost: 1,
            }
        );
        assert!(rows[1].is_regression() && !rows[3].is_regression());
    }

    #[test]
    fn the_table_names_objects_and_escapes_pipes() {
        let text = table(&[row("b", true, false)], 6);
        assert_eq!(
            text,
            "| object | libbpf | bpfhost |\n| --- | --- | --- |\n| b.bpf.o | loaded | no \\| g… |\n"
        );
    }
}
