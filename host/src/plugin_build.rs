//! `bpfhost plugin build`: a decoder project to a component the agent
//! loads. A Rust crate needs nothing but cargo and the
//! `wasm32-unknown-unknown` target; Python, JavaScript and C projects are
//! built by their own toolchains ([`crate::plugin_language`]).
//!
//! A Rust crate is built as a core module for `wasm32-unknown-unknown` (no WASI
//! imports at all) and wrapped into a component in-process with
//! wit-component, using the component type that wit-bindgen (through the
//! SDK) embedded in the module, so plugin authors need no `wasm-tools`.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wit_component::ComponentEncoder;

use crate::plugin_language::Language;

/// The target decoders are built for: no WASI, no host capabilities.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// Why a plugin could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PluginBuildError {
    #[error(
        "{} is not a decoder project: it has no Cargo.toml (Rust), app.py (Python), \
         app.c (C), or package.json with build.mjs (JavaScript)",
        .0.display()
    )]
    NotAProject(PathBuf),
    #[error(
        "{} has no wit/ folder with the agent's WIT world to build against \
         (`bpfhost plugin new` writes one; or copy the agent's wit/<version>/decoder.wit)",
        .0.display()
    )]
    NoWit(PathBuf),
    #[error("{tool} is not installed: {install}")]
    MissingTool {
        tool: &'static str,
        install: &'static str,
    },
    #[error("cannot run {tool}")]
    Run {
        tool: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool} failed ({status}); its output is above")]
    Step {
        tool: &'static str,
        status: std::process::ExitStatus,
    },
    #[error("cannot run cargo")]
    Cargo(#[source] std::io::Error),
    #[error(
        "the Rust target {TARGET} is not installed: run `rustup target add {TARGET}` \
         (or list it in rust-toolchain.toml)"
    )]
    MissingTarget,
    #[error("cargo build failed ({status}); its errors are above")]
    Build { status: std::process::ExitStatus },
    #[error(
        "cargo built no wasm module for {}: is its `[lib] crate-type` `[\"cdylib\", \"rlib\"]`?",
        .0.display()
    )]
    NoModule(PathBuf),
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is not a decoder module (does the crate call `export_decoder!`?)",
        path.display()
    )]
    Componentize {
        path: PathBuf,
        #[source]
        source: anyhow::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Builds the project in `dir` and writes the component to `out`. A Rust
/// crate is built in release mode for [`TARGET`], its component by default
/// beside the module as
/// `<target dir>/wasm32-unknown-unknown/release/<lib>.component.wasm`;
/// another language's by default to `<dir>/<dir name>.wasm` (what the
/// template's manifest names). Returns the component's path.
pub fn build(dir: &Path, out: Option<&Path>) -> Result<PathBuf, PluginBuildError> {
    let language =
        Language::of(dir).ok_or_else(|| PluginBuildError::NotAProject(dir.to_path_buf()))?;
    if language != Language::Rust {
        let out = out.map_or_else(|| default_output(dir), Path::to_path_buf);
        crate::plugin_language::build(language, dir, &out)?;
        return Ok(out);
    }
    let manifest = dir.join("Cargo.toml");
    let module = compile(&manifest)?;
    let bytes = std::fs::read(&module).map_err(|source| PluginBuildError::Read {
        path: module.clone(),
        source,
    })?;
    let component = componentize(&bytes).map_err(|source| PluginBuildError::Componentize {
        path: module.clone(),
        source,
    })?;
    let out = out.map_or_else(|| component_path(&module), Path::to_path_buf);
    std::fs::write(&out, component).map_err(|source| PluginBuildError::Write {
        path: out.clone(),
        source,
    })?;
    Ok(out)
}

/// Wraps a core module into a component, using the component type
/// wit-bindgen embedded in it.
pub fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    // Without that section the encoder would make an empty component, which
    // the agent would only refuse later, less clearly.
    anyhow::ensure!(
        has_component_type(module),
        "the module has no `component-type` section (wit-bindgen's bindings are missing)"
    );
    ComponentEncoder::default()
        .validate(true)
        .module(module)?
        .encode()
}

/// Whether `module` carries a `component-type*` custom section.
fn has_component_type(module: &[u8]) -> bool {
    wasmparser::Parser::new(0).parse_all(module).any(|payload| {
        matches!(payload, Ok(wasmparser::Payload::CustomSection(section))
            if section.name().starts_with("component-type"))
    })
}

/// `<dir>/<name of dir>.wasm`.
fn default_output(dir: &Path) -> PathBuf {
    let name = std::path::absolute(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "decoder".to_owned());
    dir.join(format!("{name}.wasm"))
}

/// `x/release/my_decoder.wasm` → `x/release/my_decoder.component.wasm`, so the
/// module cargo keeps up to date is never overwritten.
fn component_path(module: &Path) -> PathBuf {
    module.with_extension("component.wasm")
}

/// Runs `cargo build --release --target wasm32-unknown-unknown` on the crate
/// and returns the path of the module it produced. Cargo's diagnostics go to
/// the terminal as usual; its JSON artifact messages are read to find the
/// module, wherever the target directory is.
fn compile(manifest: &Path) -> Result<PathBuf, PluginBuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["build", "--release", "--target", TARGET])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(PluginBuildError::Cargo)?;
    let stderr = child.stderr.take().map(|err| {
        std::thread::spawn(move || {
            let mut seen = String::new();
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("{line}");
                seen.push_str(&line);
                seen.push('\n');
            }
            seen
        })
    });
    let mut module = None;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(path) = wasm_artifact(&line, manifest) {
                module = Some(path);
            }
        }
    }
    let status = child.wait().map_err(PluginBuildError::Cargo)?;
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() {
        // rustc's words when the standard library of a target is missing.
        if stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            return Err(PluginBuildError::MissingTarget);
        }
        return Err(PluginBuildError::Build { status });
    }
    module.ok_or_else(|| PluginBuildError::NoModule(manifest.to_path_buf()))
}

/// The `.wasm` file of a `compiler-artifact` message for the crate at
/// `manifest`, if the line is one.
fn wasm_artifact(line: &str, manifest: &Path) -> Option<PathBuf> {
    #[derive(serde::Deserialize)]
    struct Artifact {
        reason: String,
        #[serde(default)]
        manifest_path: Option<PathBuf>,
        #[serde(default)]
        filenames: Vec<PathBuf>,
    }
    let artifact: Artifact = serde_json::from_str(line).ok()?;
    if artifact.reason != "compiler-artifact" {
        return None;
    }
    let ours = artifact.manifest_path.as_deref().is_some_and(|p| {
        p == manifest || std::fs::canonicalize(p).ok() == std::fs::canonicalize(manifest).ok()
    });
    if !ours {
        return None;
    }
    artifact
        .filenames
        .into_iter()
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_of_this_crate_is_found_in_cargo_messages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(&manifest, "").expect("manifest");
        let ours = format!(
            r#"{{"reason":"compiler-artifact","manifest_path":"{}","filenames":["/t/release/x.d","/t/release/x.wasm","/t/release/libx.rlib"]}}"#,
            manifest.display()
        );
        assert_eq!(
            wasm_artifact(&ours, &manifest),
            Some(PathBuf::from("/t/release/x.wasm"))
        );
        let dependency = r#"{"reason":"compiler-artifact","manifest_path":"/registry/serde/Cargo.toml","filenames":["/t/libserde.rlib"]}"#;
        assert_eq!(wasm_artifact(dependency, &manifest), None);
        assert_eq!(
            wasm_artifact(r#"{"reason":"build-finished","success":true}"#, &manifest),
            None
        );
        assert_eq!(wasm_artifact("not json", &manifest), None);
    }

    #[test]
    fn the_component_sits_beside_the_module() {
        assert_eq!(
            component_path(Path::new(
                "/t/wasm32-unknown-unknown/release/my_decoder.wasm"
            )),
            PathBuf::from("/t/wasm32-unknown-unknown/release/my_decoder.component.wasm")
        );
    }

    #[test]
    fn a_module_without_a_component_type_is_refused() {
        // The smallest valid core module: no wit-bindgen section.
        let empty = b"\0asm\x01\0\0\0";
        assert!(componentize(empty).is_err());
    }

    #[test]
    fn a_directory_of_no_language_is_not_a_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = build(dir.path(), None).expect_err("no project");
        assert!(matches!(err, PluginBuildError::NotAProject(_)), "{err}");
    }

    #[test]
    fn other_languages_build_to_the_name_their_manifest_gives() {
        assert_eq!(
            default_output(Path::new("/p/open-counts")),
            PathBuf::from("/p/open-counts/open-counts.wasm")
        );
    }
}
