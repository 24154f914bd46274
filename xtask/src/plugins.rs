//! Decoder plugins: `plugins/NAME` (examples), `plugins/fixtures/NAME` (test
//! fixtures) and `plugins/bench/NAME` (the benchmark's decoder) →
//! `<target>/artifacts/plugins/NAME.wasm` (one flat folder: names are unique).
//!
//! A plugin is built as a core module for `wasm32-unknown-unknown` (no WASI
//! imports at all) and wrapped into a component with wit-component, using
//! the component type that wit-bindgen embedded in the module. A plugin may
//! name another target in `[package.metadata.bpfhost] target = "..."`:
//! `wasm32-wasip2` builds a component directly (the sandbox tests use it
//! for a plugin that tries to escape through WASI). Decoders in other
//! languages are built by [`crate::languages`].

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use wit_component::ComponentEncoder;

use crate::{Workspace, status};

const DEFAULT_TARGET: &str = "wasm32-unknown-unknown";
/// Targets whose output is already a component.
const COMPONENT_TARGETS: &[&str] = &["wasm32-wasip2"];
const PROFILE: &str = "plugin";
const PREFIX: &str = "bpfhost-plugin-";

/// Folders whose crates are decoder plugins.
const PLUGIN_DIRS: &[&str] = &["plugins", "plugins/fixtures", "plugins/bench"];

/// Builds every plugin crate and componentizes it.
pub fn build(ws: &Workspace) -> Result<()> {
    let mut by_target: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for dir in PLUGIN_DIRS {
        for entry in std::fs::read_dir(ws.root.join(dir))? {
            let path = entry?.path();
            if path.join("Cargo.toml").exists() {
                let name = path
                    .file_name()
                    .context("plugin dir name")?
                    .to_string_lossy()
                    .into_owned();
                by_target.entry(target_of(&path)?).or_default().push(name);
            }
        }
    }
    let out_dir = ws.artifacts("plugins")?;
    // The wasm build has its own target dir inside this checkout, so
    // checkouts sharing one CARGO_TARGET_DIR never swap each other's plugins.
    let target_dir = ws.root.join("target/wasm");
    let mut built = 0;
    for (target, names) in &mut by_target {
        names.sort();
        compile(ws, &target_dir, target, names)?;
        for name in names.iter() {
            let module_path = target_dir.join(target.as_str()).join(PROFILE).join(format!(
                "{}.wasm",
                format!("{PREFIX}{name}").replace('-', "_")
            ));
            let module = std::fs::read(&module_path)
                .with_context(|| format!("reading {}", module_path.display()))?;
            let component = if COMPONENT_TARGETS.contains(&target.as_str()) {
                module
            } else {
                componentize(name, &module)?
            };
            let out = out_dir.join(format!("{name}.wasm"));
            std::fs::write(&out, component)
                .with_context(|| format!("writing {}", out.display()))?;
            built += 1;
        }
    }
    built += crate::languages::build(ws, &out_dir)?;
    eprintln!("xtask: {built} decoder components in {}", out_dir.display());
    Ok(())
}

/// `package.metadata.bpfhost.target` of a plugin crate, or the default.
fn target_of(dir: &Path) -> Result<String> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let value: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let target = value
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("bpfhost"))
        .and_then(|b| b.get("target"))
        .and_then(toml::Value::as_str)
        .unwrap_or(DEFAULT_TARGET);
    Ok(target.to_owned())
}

fn compile(ws: &Workspace, target_dir: &Path, target: &str, names: &[String]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&ws.root)
        .args([
            "build",
            "--target",
            target,
            "--profile",
            PROFILE,
            "--target-dir",
        ])
        .arg(target_dir);
    for name in names {
        cmd.args(["--package", &format!("{PREFIX}{name}")]);
    }
    status(&mut cmd)
        .with_context(|| format!("building plugins (needs `rustup target add {target}`)"))
}

/// Wraps a core module into a component, using the component type
/// wit-bindgen embedded in it.
fn componentize(name: &str, module: &[u8]) -> Result<Vec<u8>> {
    ComponentEncoder::default()
        .validate(true)
        .module(module)
        .with_context(|| format!("reading the component type of {name}"))?
        .encode()
        .with_context(|| format!("encoding {name} as a component"))
}
