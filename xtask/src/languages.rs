//! Decoders written in languages other than Rust, under `plugins/NAME`,
//! built against the agent's WIT world into
//! `<target>/artifacts/plugins/NAME.wasm`:
//!
//! - a folder with `app.py` is a Python decoder, built by componentize-py
//!   (`.ci/install` installs it from PyPI);
//! - a folder with `package.json` and `build.mjs` is a JavaScript decoder:
//!   `npm ci` installs its pinned componentize-js (from the npm registry)
//!   when `node_modules` is missing, then `node build.mjs WIT OUT` builds it.
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

/// The languages besides Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Language {
    Python,
    JavaScript,
}

impl Language {
    /// The language of the project in `dir`, if it is one.
    fn of(dir: &Path) -> Option<Self> {
        if dir.join("app.py").is_file() {
            Some(Self::Python)
        } else if dir.join("package.json").is_file() && dir.join("build.mjs").is_file() {
            Some(Self::JavaScript)
        } else {
            None
        }
    }

    /// The command that must run for this language's builds.
    fn tool(self) -> &'static str {
        match self {
            Self::Python => COMPONENTIZE_PY,
            Self::JavaScript => "node",
        }
    }
}

/// A decoder project in another language.
struct Project {
    name: String,
    dir: PathBuf,
    language: Language,
}

/// Decoders in other languages under `plugins/`.
fn projects(ws: &Workspace) -> Result<Vec<Project>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(ws.root.join("plugins"))? {
        let dir = entry?.path();
        if let Some(language) = Language::of(&dir) {
            let name = dir
                .file_name()
                .context("plugin dir name")?
                .to_string_lossy()
                .into_owned();
            found.push(Project {
                name,
                dir,
                language,
            });
        }
    }
    found.sort_by(|a, b| (a.language, &a.name).cmp(&(b.language, &b.name)));
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
    versions
        .pop()
        .map(|(_, p)| p)
        .context("no wit/<version> folder")
}

fn available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds every decoder in another language; returns how many were built.
pub fn build(ws: &Workspace, out_dir: &Path) -> Result<usize> {
    let wit = wit_dir(ws)?;
    let mut built = 0;
    for project in projects(ws)? {
        let tool = project.language.tool();
        if !available(tool) {
            let message = format!(
                "{tool} is not installed (`bash .ci/install` installs it): the {:?} decoder {} \
                 is NOT built",
                project.language, project.name
            );
            if std::env::var_os("CI").is_some() {
                bail!(message);
            }
            eprintln!("xtask: WARNING: {message}");
            continue;
        }
        let out = out_dir.join(format!("{}.wasm", project.name));
        match project.language {
            Language::Python => python(&project, &wit, &out)?,
            Language::JavaScript => javascript(&project, &wit, &out)?,
        }
        built += 1;
    }
    Ok(built)
}

fn python(project: &Project, wit: &Path, out: &Path) -> Result<()> {
    let mut cmd = Command::new(COMPONENTIZE_PY);
    cmd.current_dir(&project.dir)
        // No __pycache__ in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg("-d")
        .arg(wit)
        .args(["-w", "decoder", "componentize", "app", "-o"])
        .arg(out);
    status(&mut cmd).with_context(|| format!("building the Python decoder {}", project.name))
}

fn javascript(project: &Project, wit: &Path, out: &Path) -> Result<()> {
    if !project.dir.join("node_modules").is_dir() {
        status(Command::new("npm").current_dir(&project.dir).args([
            "ci",
            "--no-audit",
            "--no-fund",
        ]))
        .with_context(|| format!("installing the packages of {}", project.name))?;
    }
    status(
        Command::new("node")
            .current_dir(&project.dir)
            .arg("build.mjs")
            .arg(wit)
            .arg(out),
    )
    .with_context(|| format!("building the JavaScript decoder {}", project.name))
}

/// Runs each project's own tests of its decoding logic, without wasm:
/// `python3 -m unittest` and `npm test`.
pub fn test(ws: &Workspace) -> Result<()> {
    for project in projects(ws)? {
        let mut cmd = match project.language {
            Language::Python => {
                let mut cmd = Command::new("python3");
                cmd.env("PYTHONDONTWRITEBYTECODE", "1")
                    .args(["-m", "unittest", "--quiet"]);
                cmd
            }
            Language::JavaScript => {
                let mut cmd = Command::new("npm");
                cmd.args(["test", "--silent"]);
                cmd
            }
        };
        status(cmd.current_dir(&project.dir)).with_context(|| {
            format!(
                "testing the {:?} decoder {}",
                project.language, project.name
            )
        })?;
    }
    Ok(())
}
