//! What a decoder component imports, checked before it is instantiated.
//!
//! The decoder world imports type definitions and the host `lookups`
//! interface. A component's import of `lookups` lists only the functions it
//! calls, so the manifest's grants are checked against exactly those.
//! WASI 0.2 imports are offered ([`super::super::wasi`]: they grant
//! nothing). Anything else is refused, naming every such import rather
//! than only the first one that fails to link.

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use super::super::wasi;
use super::PluginLoadError;
use crate::lookup::{Grants, Lookup};

/// The one place the agent's WIT version is written; everything else that
/// names it is derived from this (`WIT_VERSION`, `LOOKUPS`, the test that
/// reads `wit/<version>/decoder.wit`).
macro_rules! wit_version {
    () => {
        "0.2.0"
    };
}

/// The version of the `bpfhost:decoder` WIT package this agent speaks
/// (`wit/<version>/decoder.wit`); components built for any other are refused.
pub const WIT_VERSION: &str = wit_version!();

/// The WIT package's interfaces, as a component names its imports.
const PACKAGE: &str = "bpfhost:decoder/";

/// The host lookups interface, as a component names its import.
pub(super) const LOOKUPS: &str = concat!("bpfhost:decoder/lookups@", wit_version!());

/// What an accepted component needs linked besides the lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Imported {
    /// It imports WASI 0.2 interfaces.
    pub wasi: bool,
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
    // to link on a type it no longer matches.
    for (name, _) in component.component_type().imports(engine) {
        if let Some(interface) = name.strip_prefix(PACKAGE) {
            let found = interface.split_once('@').map_or("", |(_, v)| v);
            if found != WIT_VERSION {
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
    let mut imported = Imported { wasi: false };
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
        if name != LOOKUPS {
            refused.push(name.to_owned());
            continue;
        }
        for (function, item) in instance.exports(engine) {
            match Lookup::of_wit_function(function) {
                _ if only_types(engine, &item.ty) => {}
                Some(lookup) if matches!(item.ty, ComponentItem::ComponentFunc(_)) => {
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
        .filter(|(name, _)| *name == LOOKUPS)
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
        assert_eq!(LOOKUPS, format!("{PACKAGE}lookups@{WIT_VERSION}"));
        let bindings = include_str!("../bindings.rs");
        assert!(
            bindings.contains(&format!("path: \"wit/{WIT_VERSION}\"")),
            "bindings.rs must generate from wit/{WIT_VERSION}"
        );
    }
}
