//! Decoder projects in languages other than Rust, as `bpfhost plugin new
//! --lang` makes them: which language a folder holds, how it becomes a
//! component, and how its own native tests run.
//!
//! | language | marked by | built with | native tests |
//! | --- | --- | --- | --- |
//! | Python | `app.py` | componentize-py | `python3 -m unittest` |
//! | JavaScript | `package.json` and `build.mjs` | componentize-js (`npm`) through `node build.mjs` | `node --test` |
//! | C | `app.c` | wit-bindgen's C generator, clang `wasm32-wasi` (wasi-libc), wit-component with the WASI preview1 adapter | gcc, every `.c` but `app.c` and `*.bpf.c` |
//!
//! Every project builds against the WIT world in its `wit/` folder (`plugin
//! new` writes the agent's). A missing tool is a [`PluginBuildError::MissingTool`]
//! naming what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use wit_component::ComponentEncoder;

use crate::plugin_build::PluginBuildError;

/// The languages a decoder project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    Rust,
    Python,
    Javascript,
    C,
}

impl Language {
    /// The language of the project in `dir`, from the files its template
    /// makes; `None` when it is no decoder project.
    pub fn of(dir: &Path) -> Option<Self> {
        if dir.join("Cargo.toml").is_file() {
            Some(Self::Rust)
        } else if dir.join("app.py").is_file() {
            Some(Self::Python)
        } else if dir.join("app.c").is_file() {
            Some(Self::C)
        } else if dir.join("package.json").is_file() && dir.join("build.mjs").is_file() {
            Some(Self::Javascript)
        } else {
            None
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rust => "Rust",
            Self::Python => "Python",
            Self::Javascript => "JavaScript",
            Self::C => "C",
        })
    }
}

/// The C bindings generator, the release of the SDK's wit-bindgen crate.
const WIT_BINDGEN_INSTALL: &str =
    "cargo install --locked wit-bindgen-cli@0.63.0 --no-default-features --features c";

/// Builds the Python, JavaScript or C project in `dir` into `out`.
pub fn build(language: Language, dir: &Path, out: &Path) -> Result<(), PluginBuildError> {
    let wit = dir.join("wit");
    if !wit.is_dir() {
        return Err(PluginBuildError::NoWit(dir.to_path_buf()));
    }
    // The tools take paths relative to the project; `out` need not be.
    let out = std::path::absolute(out).map_err(|source| PluginBuildError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    match language {
        Language::Rust => unreachable!("Rust crates are built by plugin_build"),
        Language::Python => run(
            Command::new("componentize-py")
                .current_dir(dir)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .args(["-d", "wit", "-w", "decoder", "componentize", "app", "-o"])
                .arg(&out),
            "componentize-py",
            "python3 -m pip install componentize-py==0.25.1",
        ),
        Language::Javascript => {
            if !dir.join("node_modules").is_dir() {
                // `npm ci` keeps to the lock file when there is one.
                let install = if dir.join("package-lock.json").is_file() {
                    "ci"
                } else {
                    "install"
                };
                run(
                    Command::new("npm")
                        .current_dir(dir)
                        .args([install, "--no-audit", "--no-fund"]),
                    "npm",
                    "install Node.js and npm",
                )?;
            }
            run(
                Command::new("node")
                    .current_dir(dir)
                    .args(["build.mjs", "wit"])
                    .arg(&out),
                "node",
                "install Node.js and npm",
            )
        }
        Language::C => c(dir, &out),
    }
}

/// wit-bindgen's C bindings and clang's core module into `<dir>/build/`,
/// then the component, with the WASI preview1 adapter for what libc imports.
fn c(dir: &Path, out: &Path) -> Result<(), PluginBuildError> {
    let work = dir.join("build");
    std::fs::create_dir_all(&work).map_err(|source| PluginBuildError::Write {
        path: work.clone(),
        source,
    })?;
    run(
        Command::new("wit-bindgen").current_dir(dir).args([
            "c",
            "--world",
            "decoder",
            "--out-dir",
            "build",
            "wit",
        ]),
        "wit-bindgen",
        WIT_BINDGEN_INSTALL,
    )?;
    let sources = c_sources(dir, |name| !name.starts_with("test"))?;
    run(
        Command::new("clang")
            .current_dir(dir)
            .args(["--target=wasm32-wasi", "-mexec-model=reactor", "-O2"])
            .args([
                "-Wall",
                "-Wextra",
                "-Wl,--strip-debug",
                "-I",
                "build",
                "-I",
                ".",
            ])
            .args(&sources)
            .args(["build/decoder.c", "build/decoder_component_type.o"])
            .args(["-o", "build/module.wasm"]),
        "clang",
        "apt-get install clang lld libclang-rt-dev-wasm32 wasi-libc",
    )?;
    let module_path = work.join("module.wasm");
    let module = std::fs::read(&module_path).map_err(|source| PluginBuildError::Read {
        path: module_path.clone(),
        source,
    })?;
    let component = ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|encoder| {
            encoder.adapter(
                "wasi_snapshot_preview1",
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .and_then(ComponentEncoder::encode)
        .map_err(|source| PluginBuildError::Componentize {
            path: module_path,
            source,
        })?;
    std::fs::write(out, component).map_err(|source| PluginBuildError::Write {
        path: out.to_path_buf(),
        source,
    })
}

/// The `.c` files of `dir` (not `*.bpf.c`) whose names `keep` accepts, sorted.
fn c_sources(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>, PluginBuildError> {
    let read = |source| PluginBuildError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let name = entry.map_err(read)?.file_name();
        let Some(name) = name.to_str() else { continue };
        // `x.c`, not the BPF program `x.bpf.c`.
        let c = name.rsplit_once('.').is_some_and(|(stem, ext)| {
            ext == "c" && Path::new(stem).extension().is_none_or(|e| e != "bpf")
        });
        if c && keep(name) {
            sources.push(PathBuf::from(name));
        }
    }
    sources.sort();
    Ok(sources)
}

/// Runs the project's own tests of its decoding logic, natively: `cargo
/// test`, `python3 -m unittest`, `node --test`, or the C test program gcc
/// builds from every `.c` file but `app.c`. Their output goes to the
/// terminal.
pub fn test(dir: &Path) -> Result<Language, PluginBuildError> {
    let language =
        Language::of(dir).ok_or_else(|| PluginBuildError::NotAProject(dir.to_path_buf()))?;
    // The C test program is run by its path, whatever the working directory.
    let dir = &std::path::absolute(dir).map_err(|source| PluginBuildError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    match language {
        Language::Rust => {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            run(
                Command::new(cargo)
                    .arg("test")
                    .arg("--manifest-path")
                    .arg(dir.join("Cargo.toml")),
                "cargo",
                "install Rust with rustup",
            )?;
        }
        Language::Python => run(
            Command::new("python3")
                .current_dir(dir)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .args(["-m", "unittest"]),
            "python3",
            "apt-get install python3",
        )?,
        Language::Javascript => run(
            Command::new("node").current_dir(dir).arg("--test"),
            "node",
            "install Node.js",
        )?,
        Language::C => {
            std::fs::create_dir_all(dir.join("build")).map_err(|source| {
                PluginBuildError::Write {
                    path: dir.join("build"),
                    source,
                }
            })?;
            let sources = c_sources(dir, |name| name != "app.c")?;
            run(
                Command::new("gcc")
                    .current_dir(dir)
                    .args(["-Wall", "-Wextra", "-o", "build/test"])
                    .args(&sources),
                "gcc",
                "apt-get install gcc",
            )?;
            run(
                Command::new(dir.join("build/test")).current_dir(dir),
                "build/test",
                "",
            )?;
        }
    }
    Ok(language)
}

/// Runs one step; a tool that is not there is [`PluginBuildError::MissingTool`]
/// with how to install it.
fn run(
    cmd: &mut Command,
    tool: &'static str,
    install: &'static str,
) -> Result<(), PluginBuildError> {
    let status = cmd.status().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            PluginBuildError::MissingTool { tool, install }
        } else {
            PluginBuildError::Run { tool, source }
        }
    })?;
    if !status.success() {
        return Err(PluginBuildError::Step { tool, status });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_told_by_the_project_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        assert_eq!(Language::of(d), None);
        std::fs::write(d.join("package.json"), "{}").expect("write");
        assert_eq!(Language::of(d), None, "package.json alone is not a decoder");
        std::fs::write(d.join("build.mjs"), "").expect("write");
        assert_eq!(Language::of(d), Some(Language::Javascript));
        std::fs::write(d.join("app.c"), "").expect("write");
        assert_eq!(Language::of(d), Some(Language::C));
        std::fs::write(d.join("app.py"), "").expect("write");
        assert_eq!(Language::of(d), Some(Language::Python));
        std::fs::write(d.join("Cargo.toml"), "").expect("write");
        assert_eq!(Language::of(d), Some(Language::Rust));
    }

    #[test]
    fn c_sources_leave_out_bpf_programs_and_what_keep_refuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["app.c", "decode.c", "decode.h", "test.c", "x.bpf.c"] {
            std::fs::write(dir.path().join(name), "").expect("write");
        }
        let module = c_sources(dir.path(), |n| !n.starts_with("test")).expect("sources");
        assert_eq!(module, [PathBuf::from("app.c"), PathBuf::from("decode.c")]);
        let tests = c_sources(dir.path(), |n| n != "app.c").expect("sources");
        assert_eq!(tests, [PathBuf::from("decode.c"), PathBuf::from("test.c")]);
    }

    #[test]
    fn a_project_without_wit_is_refused_before_any_tool_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("app.py"), "").expect("write");
        let err =
            build(Language::Python, dir.path(), &dir.path().join("x.wasm")).expect_err("no wit");
        assert!(matches!(err, PluginBuildError::NoWit(_)), "{err}");
    }

    #[test]
    fn a_missing_tool_says_how_to_install_it() {
        let err = run(
            &mut Command::new("bpfhost-no-such-tool"),
            "bpfhost-no-such-tool",
            "apt-get install it",
        )
        .expect_err("missing");
        assert!(err.to_string().contains("apt-get install it"), "{err}");
    }
}
