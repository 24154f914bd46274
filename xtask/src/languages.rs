//! Decoders written in languages other than Rust, under `plugins/NAME`:
//! a folder with `app.py` is a Python decoder, built by componentize-py
//! (`.ci/install` installs it from PyPI) against the agent's WIT world into
//! `<target>/artifacts/plugins/NAME.wasm`.
//!
//! A missing toolchain fails the build in CI (`CI` set) and is reported
//! loudly elsewhere, never skipped in silence: the tests that load these
//! decoders then fail naming the missing artifact.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{Workspace, status};

/// The Python toolchain (`.ci/install` pins its release).
pub const COMPONENTIZE_PY: &str = "componentize-py";

/// A decoder project in another language.
struct Project {
    name: String,
    dir: PathBuf,
}

/// Python decoders under `plugins/`: folders holding an `app.py`.
fn python_projects(ws: &Workspace) -> Result<Vec<Project>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(ws.root.join("plugins"))? {
        let dir = entry?.path();
        if dir.join("app.py").is_file() {
            let name = dir
                .file_name()
                .context("plugin dir name")?
                .to_string_lossy()
                .into_owned();
            found.push(Project { name, dir });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The newest `wit/<version>` folder: the world the agent speaks.
pub fn wit_dir(ws: &Workspace) -> Result<PathBuf> {
    let mut versions: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(ws.root.join("wit"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let parts: Option<Vec<u64>> = name.split('.').map(|n| n.parse().ok()).collect();
            Some((parts?, p))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).context("no wit/<version> folder")
}

fn available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds every Python decoder; returns how many were built.
pub fn build(ws: &Workspace, out_dir: &Path) -> Result<usize> {
    let projects = python_projects(ws)?;
    if projects.is_empty() {
        return Ok(0);
    }
    if !available(COMPONENTIZE_PY) {
        let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
        let message = format!(
            "{COMPONENTIZE_PY} is not installed (`bash .ci/install` installs it from PyPI): \
             the Python decoders {names:?} are NOT built"
        );
        if std::env::var_os("CI").is_some() {
            bail!(message);
        }
        eprintln!("xtask: WARNING: {message}");
        return Ok(0);
    }
    let wit = wit_dir(ws)?;
    for project in &projects {
        let out = out_dir.join(format!("{}.wasm", project.name));
        let mut cmd = Command::new(COMPONENTIZE_PY);
        cmd.current_dir(&project.dir)
            // No __pycache__ in the source tree.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg("-d")
            .arg(&wit)
            .args(["-w", "decoder", "componentize", "app", "-o"])
            .arg(&out);
        status(&mut cmd).with_context(|| format!("building the Python decoder {}", project.name))?;
    }
    Ok(projects.len())
}
