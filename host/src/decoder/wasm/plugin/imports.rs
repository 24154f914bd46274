//! What a decoder component imports, checked before it is instantiated.
//!
//! The decoder world imports type definitions and the host `lookups`
//! interface. A component's import of `lookups` lists only the functions it
//! calls, so the manifest's grants are checked against exactly those.
//! WASI 0.2 imports are offered ([`super::super::wasi`]: they grant
//! nothing). Anything else is refused, naming every such import rather
//! than only the first one that fails to link.
//!
//! **Versions.** A component names the version of the package it was built
//! for in every import (`bpfhost:decoder/types@0.2.0`). The agent generates
//! bindings for every world it hosts (`../bindings.rs`, `../world.rs`) and
//! accepts every version in [`WIT_ACCEPTED`]: a release that only added
//! functions is served by the bindings of the newest release of its line,
//! wasmtime's linker matching the imports by semver (`0.2.0` and `0.2.1`
//! are both `0.2`); a release that changes anything (`0.3.0`) gets its own
//! bindings. No release is ever dropped from this list by a minor bump: a
//! deployed decoder never has to be rebuilt for a newer agent.

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::super::wasi;
use super::super::world::Version;
use super::PluginLoadError;
use crate::lookup::{Grants, Lookup};

/// The one place the agent's WIT version is written; everything else that
/// names it is derived from this (`WIT_VERSION`, `WIT_ACCEPTED`, the test
/// that reads `wit/<version>/decoder.wit`).
macro_rules! wit_version {
    () => {
        "0.3.0"
    };
}

/// The newest version of the `bpfhost:decoder` WIT package this agent
/// speaks (`wit/<version>/decoder.wit`), which its bindings come from.
pub const WIT_VERSION: &str = wit_version!();

/// Every version a component may be built for, oldest first; components
/// built for any other are refused.
pub const WIT_ACCEPTED: &[&str] = &["0.2.0", "0.2.1", WIT_VERSION];

/// The WIT package's interfaces, as a component names its imports.
const PACKAGE: &str = "bpfhost:decoder/";

/// The host lookups interface, as a component names its import (without
/// the version).
const LOOKUPS: &str = "lookups";

/// `(interface, version)` of an import of the package; the version is
/// empty when the import has none.
fn interface_of(import: &str) -> Option<(&str, &str)> {
    let interface = import.strip_prefix(PACKAGE)?;
    Some(interface.split_once('@').unwrap_or((interface, "")))
}

/// The position in [`WIT_ACCEPTED`] of the `lookups` version `import`
/// names, when it is the lookups interface of an accepted version.
fn lookups_version(import: &str) -> Option<usize> {
    match interface_of(import)? {
        (LOOKUPS, version) => WIT_ACCEPTED.iter().position(|v| *v == version),
        _ => None,
    }
}

/// Whether a component importing the lookups of the version at position
/// `imported` of [`WIT_ACCEPTED`] may import `lookup`'s functions: they
/// must exist in that version.
fn exists_in(lookup: Lookup, imported: usize) -> bool {
    WIT_ACCEPTED
        .iter()
        .position(|v| *v == lookup.since())
        .is_some_and(|since| since <= imported)
}

/// What an accepted component needs linked besides the lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Imported {
    /// It imports WASI 0.2 interfaces.
    pub wasi: bool,
    /// The world it was built for.
    pub world: Version,
}

/// The lookups of `bpfhost:decoder@0.2.0`. A component importing all of
/// them was built by a toolchain that imports a whole interface whatever
/// the code calls (componentize-py, componentize-js, wit-bindgen's C
/// generator): its imports say nothing about what it calls, so it is not
/// refused for ungranted ones; those answer `none` at call time, as every
/// ungranted call does. Rust's wit-bindgen imports only what is called.
const WHOLE_INTERFACE: [Lookup; 7] = [
    Lookup::Ksym,
    Lookup::Cgroup,
    Lookup::Pod,
    Lookup::Ifname,
    Lookup::Comm,
    Lookup::Syscall,
    Lookup::Errno,
];

/// Refuses a component built for another version of the WIT package, then
/// imports the agent does not offer, then lookups not granted.
pub(super) fn check(
    engine: &Engine,
    component: &Component,
    grants: Grants,
) -> Result<Imported, PluginLoadError> {
    // Every decoder imports at least the `types` interface, versioned: a
    // component of another release is named as such rather than failing
    // to link on a type it no longer matches. The version says which
    // world's bindings serve it.
    let mut world = None;
    for (name, _) in component.component_type().imports(engine) {
        let Some((_, found)) = interface_of(name) else {
            continue;
        };
        match Version::of(found) {
            Some(version) if WIT_ACCEPTED.contains(&found) => {
                world = world.max(Some(version));
            }
            _ => {
                return Err(PluginLoadError::WitVersion {
                    found: if found.is_empty() {
                        "(unversioned)"
                    } else {
                        found
                    }
                    .to_owned(),
                    import: name.to_owned(),
                });
            }
        }
    }
    let mut refused = Vec::new();
    let mut wasi_refused = Vec::new();
    let mut imported = Imported {
        wasi: false,
        // A component that names no version imports nothing of ours, not
        // even types: only the newest world can be it.
        world: world.unwrap_or(Version::V0_3),
    };
    let mut ungranted = Vec::new();
    let mut imported_lookups = Vec::new();
    for (name, import) in component.component_type().imports(engine) {
        match wasi::check_import(name) {
            Some(Ok(())) => {
                imported.wasi = true;
                continue;
            }
            Some(Err(why)) => {
                wasi_refused.push(why);
                continue;
            }
            None => {}
        }
        if only_types(engine, &import.ty) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = &import.ty else {
            refused.push(name.to_owned());
            continue;
        };
        let Some(version) = lookups_version(name) else {
            refused.push(name.to_owned());
            continue;
        };
        for (function, item) in instance.exports(engine) {
            match Lookup::of_wit_function(function) {
                _ if only_types(engine, &item.ty) => {}
                Some(lookup)
                    if matches!(item.ty, ComponentItem::ComponentFunc(_))
                        && exists_in(lookup, version) =>
                {
                    imported_lookups.push(lookup);
                    if !grants.allows(lookup) {
                        ungranted.push(lookup);
                    }
                }
                _ => refused.push(format!("{name}#{function}")),
            }
        }
    }
    if !refused.is_empty() {
        return Err(PluginLoadError::Imports(refused));
    }
    if !wasi_refused.is_empty() {
        return Err(PluginLoadError::Wasi(wasi_refused));
    }
    if !ungranted.is_empty() {
        ungranted.sort_unstable();
        ungranted.dedup();
        if WHOLE_INTERFACE.iter().all(|l| imported_lookups.contains(l)) {
            tracing::debug!(
                ?ungranted,
                "the decoder imports every lookup (its toolchain imports whole interfaces); \
                 the ungranted ones answer none"
            );
        } else {
            return Err(PluginLoadError::NotGranted(ungranted));
        }
    }
    Ok(imported)
}

/// The lookups a component imports, whatever is granted.
#[cfg(test)]
pub(super) fn lookups_used(engine: &Engine, component: &Component) -> Vec<Lookup> {
    let mut used: Vec<Lookup> = component
        .component_type()
        .imports(engine)
        .filter(|(name, _)| lookups_version(name).is_some())
        .filter_map(|(_, import)| match import.ty {
            ComponentItem::ComponentInstance(instance) => Some(
                instance
                    .exports(engine)
                    .filter_map(|(f, _)| Lookup::of_wit_function(f))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    used.sort_unstable();
    used.dedup();
    used
}

/// Whether an import carries type definitions only (the decoder world's
/// shared `types` interface), which needs nothing from the host.
fn only_types(engine: &Engine, item: &ComponentItem) -> bool {
    match item {
        ComponentItem::Type(_) => true,
        ComponentItem::ComponentInstance(instance) => instance
            .exports(engine)
            .all(|(_, export)| only_types(engine, &export.ty)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accepted_version_is_the_wit_packages() {
        // The file the bindings are generated from (`bindings.rs`).
        let wit = include_str!(concat!("../../../../wit/", wit_version!(), "/decoder.wit"));
        let package = wit
            .lines()
            .find_map(|l| l.strip_prefix("package "))
            .expect("a package line");
        assert_eq!(package, format!("bpfhost:decoder@{WIT_VERSION};"));
        assert_eq!(
            WIT_ACCEPTED.last(),
            Some(&WIT_VERSION),
            "the newest is last"
        );
        let bindings = include_str!("../bindings.rs");
        assert!(
            bindings.contains(&format!("path: \"wit/{WIT_VERSION}\"")),
            "bindings.rs must generate from wit/{WIT_VERSION}"
        );
        for version in WIT_ACCEPTED {
            assert!(Version::of(version).is_some(), "no world hosts {version}");
        }
        assert_eq!(Version::of(WIT_VERSION), Some(Version::V0_3));
    }

    #[test]
    fn every_accepted_version_is_a_released_wit_and_lookups_exist_from_their_release() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wit");
        for version in WIT_ACCEPTED {
            let wit = std::fs::read_to_string(root.join(version).join("decoder.wit"))
                .unwrap_or_else(|e| panic!("wit/{version}/decoder.wit: {e}"));
            for lookup in Lookup::ALL {
                let since = WIT_ACCEPTED.iter().position(|v| *v == lookup.since());
                let here = WIT_ACCEPTED.iter().position(|v| v == version);
                for function in lookup.wit_functions() {
                    assert_eq!(
                        wit.contains(&format!("    {function}: func(")),
                        since <= here,
                        "{function} in wit/{version}"
                    );
                }
            }
        }
        assert_eq!(lookups_version("bpfhost:decoder/lookups@0.2.0"), Some(0));
        assert_eq!(lookups_version("bpfhost:decoder/lookups@0.2.1"), Some(1));
        assert_eq!(lookups_version("bpfhost:decoder/lookups@0.3.0"), Some(2));
        assert_eq!(lookups_version("bpfhost:decoder/lookups@0.1.0"), None);
        assert_eq!(lookups_version("bpfhost:decoder/types@0.2.1"), None);
        assert!(!exists_in(Lookup::Pci, 0) && exists_in(Lookup::Pci, 1));
        assert!(exists_in(Lookup::Errno, 0));
    }
}
