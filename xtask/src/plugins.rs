//! Decoder plugins: `plugins/NAME` → `<target>/artifacts/plugins/NAME.wasm`.
//!
//! Each plugin is built as a core module for `wasm32-unknown-unknown` (no
//! WASI imports at all) and wrapped into a component with wit-component,
//! using the component type that wit-bindgen embedded in the module.

use std::process::Command;

use anyhow::{Context, Result};
use wit_component::ComponentEncoder;

use crate::{Workspace, status};

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "plugin";
const PREFIX: &str = "bpfhost-plugin-";

/// Builds every crate under `plugins/` and componentizes it.
pub fn build(ws: &Workspace) -> Result<()> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(ws.root.join("plugins"))? {
        let path = entry?.path();
        if path.join("Cargo.toml").exists() {
            let name = path
                .file_name()
                .context("plugin dir name")?
                .to_string_lossy()
                .into_owned();
            names.push(name);
        }
    }
    names.sort();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // The wasm build has its own target dir inside this checkout, so
    // checkouts sharing one CARGO_TARGET_DIR never swap each other's plugins.
    let target_dir = ws.root.join("target/wasm");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&ws.root)
        .args([
            "build",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
            "--target-dir",
        ])
        .arg(&target_dir);
    for name in &names {
        cmd.args(["--package", &format!("{PREFIX}{name}")]);
    }
    status(&mut cmd)
        .context("building plugins (needs `rustup target add wasm32-unknown-unknown`)")?;

    let out_dir = ws.artifacts("plugins")?;
    for name in &names {
        let module_path = target_dir.join(TARGET).join(PROFILE).join(format!(
            "{}.wasm",
            format!("{PREFIX}{name}").replace('-', "_")
        ));
        let module = std::fs::read(&module_path)
            .with_context(|| format!("reading {}", module_path.display()))?;
        let component = ComponentEncoder::default()
            .validate(true)
            .module(&module)
            .with_context(|| format!("reading the component type of {name}"))?
            .encode()
            .with_context(|| format!("encoding {name} as a component"))?;
        let out = out_dir.join(format!("{name}.wasm"));
        std::fs::write(&out, component).with_context(|| format!("writing {}", out.display()))?;
    }
    eprintln!(
        "xtask: {} decoder components in {}",
        names.len(),
        out_dir.display()
    );
    Ok(())
}
