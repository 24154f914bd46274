//! Built-in decoders: components shipped with the agent, referenced by name
//! (`decoder: {builtin: ebpf-exporter}`) instead of by bytes.
//!
//! The agent resolves a name to `<dir>/<name>.wasm` in its built-in decoder
//! directory ([`Builtins`]). The directory is, in order:
//!
//! 1. `bpfhost run --builtin-dir DIR`, when given;
//! 2. `<dir of the executable>/../share/bpfhost/decoders`, the installed
//!    layout (`/usr/bin/bpfhost` reads `/usr/share/bpfhost/decoders`), when it
//!    exists;
//! 3. for development, the plugins `cargo xtask build-plugins` writes:
//!    `$BPFHOST_ARTIFACTS/plugins`, else `target/artifacts/plugins` of the
//!    workspace the agent was built in.
//!
//! A built-in decoder is trusted as the agent is: it may import every
//! lookup it is known to call ([`Builtins::imported_lookups`]) but is
//! granted only those its manifest lists in `decoder.lookups` or, when
//! that is empty, those its config needs ([`Builtins::needed_lookups`]:
//! for `ebpf-exporter`, the lookups of the decoders its labels name). A
//! call to a lookup it was not granted answers none.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::{Location, ManifestError};
use serde_json::Value;

use crate::lookup::Lookup;

/// File name suffix of a built-in decoder component.
const SUFFIX: &str = ".wasm";

/// The lookups each known built-in decoder imports.
const IMPORTS: &[(&str, &[Lookup])] = &[(
    "ebpf-exporter",
    &[
        Lookup::Errno,
        Lookup::Syscall,
        Lookup::Ifname,
        Lookup::Ksym,
        Lookup::Cgroup,
        Lookup::Majorminor,
        Lookup::Pci,
    ],
)];

/// The lookup each `ebpf_exporter` label decoder asks; decoders not
/// listed ask none.
const EBPF_EXPORTER_DECODERS: &[(&str, Lookup)] = &[
    ("errno", Lookup::Errno),
    ("syscall", Lookup::Syscall),
    ("ifname", Lookup::Ifname),
    ("ksym", Lookup::Ksym),
    ("kstack", Lookup::Ksym),
    ("cgroup", Lookup::Cgroup),
    ("majorminor", Lookup::Majorminor),
    ("pci_vendor", Lookup::Pci),
    ("pci_device", Lookup::Pci),
    ("pci_class", Lookup::Pci),
    ("pci_subclass", Lookup::Pci),
];

/// The directory built-in decoders are read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Builtins {
    /// `None`: no built-in decoders (tests, tools that load nothing).
    dir: Option<PathBuf>,
}

impl Builtins {
    /// Built-in decoders in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir: Some(dir) }
    }

    /// No built-in decoders: every `builtin` reference fails to resolve.
    pub const fn none() -> Self {
        Self { dir: None }
    }

    /// The default directory: the installed one beside the executable when
    /// it exists, else the development artifacts (see the module docs).
    pub fn default_dir() -> PathBuf {
        let installed = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join("../share/bpfhost/decoders")));
        match installed {
            Some(dir) if dir.is_dir() => dir,
            _ => crate::testing::artifacts_dir().join("plugins"),
        }
    }

    /// The directory, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The names of the decoders in the directory, sorted.
    pub fn available(&self) -> Vec<String> {
        let Some(entries) = self.dir.as_deref().and_then(|d| fs::read_dir(d).ok()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(SUFFIX)
                    .filter(|stem| valid_name(stem))
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        names
    }

    /// The component bytes of built-in decoder `name`, for the manifest at
    /// `at` (whose `field` names it).
    pub(crate) fn read(
        &self,
        name: &str,
        at: &Location,
        field: &str,
    ) -> Result<Vec<u8>, ManifestError> {
        let unknown = || ManifestError::UnknownBuiltin {
            at: at.boxed(),
            field: field.to_owned(),
            name: name.to_owned(),
            dir: self.dir.clone(),
            available: self.available(),
        };
        let Some(dir) = &self.dir else {
            return Err(unknown());
        };
        if !valid_name(name) {
            return Err(unknown());
        }
        let path = dir.join(format!("{name}{SUFFIX}"));
        match fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Err(unknown()),
            Err(error) => Err(ManifestError::SourceRead {
                at: at.boxed(),
                field: field.to_owned(),
                path,
                error,
            }),
        }
    }

    /// The lookups built-in decoder `name` imports; empty for one not known.
    pub fn imported_lookups(name: &str) -> &'static [Lookup] {
        IMPORTS
            .iter()
            .find(|(builtin, _)| *builtin == name)
            .map_or(&[], |(_, lookups)| lookups)
    }

    /// The lookups built-in decoder `name` calls with `config`, in the
    /// order of [`Lookup::ALL`]: for `ebpf-exporter` those of the label
    /// decoders the config names, for another every one it imports.
    pub fn needed_lookups(name: &str, config: Option<&Value>) -> Vec<Lookup> {
        if name != "ebpf-exporter" {
            return Self::imported_lookups(name).to_vec();
        }
        let metrics = config.and_then(|c| c.get("metrics"));
        let decoders = ["counters", "histograms"]
            .into_iter()
            .filter_map(|kind| metrics?.get(kind)?.as_array())
            .flatten()
            .filter_map(|metric| metric.get("labels")?.as_array())
            .flatten()
            .filter_map(|label| label.get("decoders")?.as_array())
            .flatten()
            .filter_map(|decoder| decoder.get("name")?.as_str());
        let mut needed: Vec<Lookup> = decoders
            .filter_map(|decoder| {
                EBPF_EXPORTER_DECODERS
                    .iter()
                    .find(|(name, _)| *name == decoder)
                    .map(|(_, lookup)| *lookup)
            })
            .collect();
        needed.sort_unstable();
        needed.dedup();
        needed
    }
}

/// A built-in name: lowercase letters, digits and `-`, so it is one file
/// name in the directory and never a path.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Location {
        Location::File(PathBuf::from("x.yaml"))
    }

    #[test]
    fn resolves_a_name_to_its_component_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("ebpf-exporter.wasm"), b"component").expect("write");
        fs::write(dir.path().join("notes.txt"), b"").expect("write");
        let builtins = Builtins::new(dir.path().to_owned());
        assert_eq!(builtins.available(), ["ebpf-exporter"]);
        let bytes = builtins
            .read("ebpf-exporter", &at(), "spec.decoder.builtin")
            .expect("resolves");
        assert_eq!(bytes, b"component");
    }

    #[test]
    fn an_unknown_name_lists_the_available_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("ebpf-exporter.wasm"), b"").expect("write");
        fs::write(dir.path().join("writes.wasm"), b"").expect("write");
        let builtins = Builtins::new(dir.path().to_owned());
        let error = builtins
            .read("ebpf_exporter", &at(), "spec.decoder.builtin")
            .expect_err("unknown");
        assert_eq!(
            error.to_string(),
            format!(
                "x.yaml: spec.decoder.builtin: unknown built-in decoder `ebpf_exporter` \
                 (in {}); available: ebpf-exporter, writes",
                dir.path().display()
            )
        );
        let none = Builtins::none()
            .read("ebpf-exporter", &at(), "spec.decoder.builtin")
            .expect_err("no directory");
        assert_eq!(
            none.to_string(),
            "x.yaml: spec.decoder.builtin: unknown built-in decoder `ebpf-exporter` \
             (no built-in decoder directory); available: none"
        );
    }

    #[test]
    fn a_name_never_climbs_out_of_the_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let builtins = Builtins::new(dir.path().join("sub"));
        assert!(!valid_name("../sub"));
        assert!(builtins.read("../x", &at(), "f").is_err());
    }

    #[test]
    fn ebpf_exporter_needs_the_lookups_of_its_configs_decoders_only() {
        let names = |lookups: &[Lookup]| lookups.iter().map(|l| l.as_str()).collect::<Vec<_>>();
        assert_eq!(
            names(Builtins::imported_lookups("ebpf-exporter")),
            [
                "errno",
                "syscall",
                "ifname",
                "ksym",
                "cgroup",
                "majorminor",
                "pci"
            ]
        );
        let config = serde_json::json!({"metrics": {
            "counters": [
                {"name": "a", "labels": [
                    {"name": "f", "decoders": [{"name": "kstack"}]},
                    {"name": "v", "decoders": [{"name": "uint"}, {"name": "pci_vendor"}]},
                ]},
                {"name": "b", "labels": [{"name": "f", "decoders": [{"name": "ksym"}]}]},
            ],
            "histograms": [
                {"name": "c", "labels": [{"name": "d", "decoders": [{"name": "majorminor"}]}]},
            ],
        }});
        assert_eq!(
            names(&Builtins::needed_lookups("ebpf-exporter", Some(&config))),
            ["ksym", "majorminor", "pci"]
        );
        let plain = serde_json::json!({"metrics": {"counters": [
            {"name": "a", "labels": [{"name": "x", "decoders": [{"name": "uint"}]}]},
        ]}});
        assert_eq!(Builtins::needed_lookups("ebpf-exporter", Some(&plain)), []);
        assert_eq!(Builtins::needed_lookups("ebpf-exporter", None), []);
        assert_eq!(Builtins::imported_lookups("writes"), &[] as &[Lookup]);
    }
}
