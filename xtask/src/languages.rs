//! Decoders written in languages other than Rust, under `plugins/NAME`,
//! built against the agent's WIT world into
//! `<target>/artifacts/plugins/NAME.wasm`:
//!
//! - a folder with `app.py` is a Python decoder, built by componentize-py
//!   (`.ci/install` installs it from PyPI);
//! - a folder with `package.json` and `build.mjs` is a JavaScript decoder:
//!   `npm ci` installs its pinned componentize-js (from the npm registry)
//!   when `node_modules` is missing, then `node build.mjs WIT OUT` builds it;
//! - a folder with `app.c` is a C decoder: wit-bindgen's C generator writes
//!   its bindings, clang (target `wasm32-wasi`, Debian's wasi-libc) compiles
//!   every `.c` file but `test*.c` and `*.bpf.c` into a core module, and
//!   wit-component wraps it with the WASI preview1 adapter into a component.
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

/// The C bindings generator (`.ci/install` pins its release to the
/// wit-bindgen the SDK uses).
pub const WIT_BINDGEN: &str = "wit-bindgen";

/// The languages besides Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Language {
    Python,
    JavaScript,
    C,
}

impl Language {
    /// The language of the project in `dir`, if it is one.
    fn of(dir: &Path) -> Option<Self> {
        if dir.join("app.py").is_file() {
            Some(Self::Python)
        } else if dir.join("app.c").is_file() {
            Some(Self::C)
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
            Self::C => WIT_BINDGEN,
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
            Language::C => c(&project, &wit, &ws.target.join("c-decoders"), &out)?,
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

/// The project's C sources: every `.c` file but the native tests
/// (`test*.c`) and BPF programs (`*.bpf.c`), sorted.
fn c_sources(dir: &Path, with_tests: bool) -> Result<Vec<PathBuf>> {
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let test = name.starts_with("test");
        // `x.c`, not the BPF program `x.bpf.c`.
        let c = name.rsplit_once('.').is_some_and(|(stem, ext)| {
            ext == "c" && Path::new(stem).extension().is_none_or(|e| e != "bpf")
        });
        if c && (with_tests || !test) {
            sources.push(path);
        }
    }
    sources.sort();
    Ok(sources)
}

/// wit-bindgen's C bindings into `<work>/<name>/`, clang to a core module
/// there, and wit-component with the preview1 adapter to `out`.
fn c(project: &Project, wit: &Path, work: &Path, out: &Path) -> Result<()> {
    let bindings = work.join(&project.name);
    let _ = std::fs::remove_dir_all(&bindings);
    std::fs::create_dir_all(&bindings)?;
    status(
        Command::new(WIT_BINDGEN)
            .args(["c", "--world", "decoder", "--out-dir"])
            .arg(&bindings)
            .arg(wit),
    )
    .with_context(|| format!("generating the C bindings of {}", project.name))?;
    let module = bindings.join("module.wasm");
    status(
        Command::new("clang")
            .args(["--target=wasm32-wasi", "-mexec-model=reactor", "-O2"])
            .args(["-Wall", "-Wextra", "-Werror", "-Wl,--strip-debug"])
            .arg("-I")
            .arg(&bindings)
            .arg("-I")
            .arg(&project.dir)
            .args(c_sources(&project.dir, false)?)
            .arg(bindings.join("decoder.c"))
            .arg(bindings.join("decoder_component_type.o"))
            .arg("-o")
            .arg(&module),
    )
    .with_context(|| {
        format!(
            "compiling the C decoder {} (clang's wasm32-wasi target needs Debian's wasi-libc, \
             lld and libclang-rt-dev-wasm32: `bash .ci/install`)",
            project.name
        )
    })?;
    let module = std::fs::read(&module)?;
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter(
            "wasi_snapshot_preview1",
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()
        .with_context(|| format!("encoding the C decoder {} as a component", project.name))?;
    std::fs::write(out, component).with_context(|| format!("writing {}", out.display()))
}

/// Runs each project's own tests of its decoding logic, without wasm:
/// `python3 -m unittest`, `npm test`, and for C a test program from the
/// `.c` files but `app.c`, built by gcc.
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
            Language::C => {
                let exe = ws
                    .target
                    .join("c-decoders")
                    .join(format!("{}-test", project.name));
                std::fs::create_dir_all(ws.target.join("c-decoders"))?;
                let sources = c_sources(&project.dir, true)?
                    .into_iter()
                    .filter(|p| !p.ends_with("app.c"));
                status(
                    Command::new("gcc")
                        .args(["-Wall", "-Wextra", "-Werror", "-o"])
                        .arg(&exe)
                        .args(sources),
                )
                .with_context(|| format!("compiling the tests of {}", project.name))?;
                Command::new(exe)
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
