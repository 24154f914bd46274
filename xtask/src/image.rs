//! `cargo xtask image`: the agent's container image, `localhost/bpfhost:<version>`.
//!
//! The agent is built in release for the host's target with glibc linked
//! statically (`+crt-static`): the image is `FROM scratch` (nothing can be
//! pulled here, and nothing but the agent belongs in it), and the libc and
//! allocator stay those of a host build, which BENCHMARKS.md measures —
//! musl's allocator would cost the scrape path. The build context is
//! staged under `<target>/image/context/` and built with podman (or
//! buildah). The image reference is the last line printed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::{Workspace, status};

/// Where the CA bundle comes from (Debian's `ca-certificates`).
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The decoders shipped in the image for `decoder: {builtin: NAME}`,
/// built by `cargo xtask build-plugins` (the caller builds them first).
const BUILTIN_DECODERS: &[&str] = &["ebpf-exporter"];

/// Builds the agent and its image; returns the image reference.
pub fn build(ws: &Workspace) -> Result<String> {
    let binary = static_agent(ws)?;
    let version_line = output(Command::new(&binary).arg("--version"))?;
    let (version, revision) = parse_version(&version_line)
        .with_context(|| format!("unexpected `bpfhost --version`: {version_line}"))?;
    let context = stage(ws, &binary)?;
    let reference = format!("localhost/bpfhost:{version}");
    let source = repository(ws)?;
    let builder = Builder::find()?;
    let mut cmd = builder.command();
    cmd.args(["--build-arg", &format!("VERSION={version}")])
        .args(["--build-arg", &format!("REVISION={revision}")])
        .args(["--build-arg", &format!("SOURCE={source}")])
        .args(["--tag", &reference, "--file"])
        .arg(ws.root.join("Containerfile"))
        .arg(&context);
    status(&mut cmd)?;
    let size = builder.size(&reference).unwrap_or_default();
    eprintln!(
        "xtask: image {reference}: {:.1} MiB",
        size as f64 / f64::from(1 << 20)
    );
    Ok(reference)
}

/// `cargo build --release` of the agent for the host's target, glibc static.
fn static_agent(ws: &Workspace) -> Result<PathBuf> {
    let host = host_triple()?;
    ensure!(
        host.ends_with("-linux-gnu"),
        "the image build expects a glibc Linux host, not {host}"
    );
    // Only the agent's own target gets the flag: build scripts and proc
    // macros stay dynamic (they cannot be static with proc-macro dylibs).
    let flags_var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        host.to_uppercase().replace('-', "_")
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&ws.root)
        .args([
            "build",
            "--release",
            "--package",
            "bpfhost",
            "--bin",
            "bpfhost",
        ])
        .args(["--target", &host])
        .env(flags_var, "-C target-feature=+crt-static");
    status(&mut cmd)?;
    let binary = ws.target.join(&host).join("release/bpfhost");
    let headers = output(
        Command::new("readelf")
            .args(["--program-headers", "--wide"])
            .arg(&binary),
    )?;
    ensure!(
        !headers.contains("INTERP"),
        "{} is dynamically linked; the image has no libc",
        binary.display()
    );
    Ok(binary)
}

/// The build context: the agent, the CA bundle and the license texts.
fn stage(ws: &Workspace, binary: &Path) -> Result<PathBuf> {
    let context = ws.target.join("image/context");
    if context.exists() {
        std::fs::remove_dir_all(&context)
            .with_context(|| format!("clearing {}", context.display()))?;
    }
    std::fs::create_dir_all(&context)?;
    for (from, to) in [
        (binary.to_path_buf(), "bpfhost"),
        (PathBuf::from(CA_BUNDLE), "ca-certificates.crt"),
        (ws.root.join("LICENSE"), "LICENSE"),
        (
            ws.root.join("LICENSES/GPL-2.0-only.txt"),
            "GPL-2.0-only.txt",
        ),
    ] {
        std::fs::copy(&from, context.join(to))
            .with_context(|| format!("copying {} into the build context", from.display()))?;
    }
    let decoders = context.join("decoders");
    std::fs::create_dir_all(&decoders)?;
    for name in BUILTIN_DECODERS {
        let from = ws.artifacts("plugins")?.join(format!("{name}.wasm"));
        std::fs::copy(&from, decoders.join(format!("{name}.wasm"))).with_context(|| {
            format!(
                "copying {} (cargo xtask build-plugins builds it)",
                from.display()
            )
        })?;
    }
    // The release profile keeps line tables (170 MiB of the 217 MiB
    // binary) for profiling on a host; the image keeps the symbols, for
    // backtraces and `perf`, and drops the rest.
    status(
        Command::new("strip")
            .arg("--strip-debug")
            .arg(context.join("bpfhost")),
    )?;
    Ok(context)
}

/// podman, or buildah where podman is missing.
enum Builder {
    Podman,
    Buildah,
}

impl Builder {
    fn find() -> Result<Self> {
        let works = |tool: &str| {
            Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if works("podman") {
            Ok(Self::Podman)
        } else if works("buildah") {
            Ok(Self::Buildah)
        } else {
            bail!("neither podman nor buildah found (Debian packages `podman`, `buildah`)")
        }
    }

    fn command(&self) -> Command {
        match self {
            // runc and cgroupfs: crun fails on this VM's hybrid cgroups. A
            // build without RUN steps starts no container, but podman checks
            // the runtime anyway.
            Self::Podman => {
                let mut cmd = Command::new("podman");
                cmd.args(["--runtime", "runc", "--cgroup-manager", "cgroupfs", "build"]);
                cmd
            }
            Self::Buildah => {
                let mut cmd = Command::new("buildah");
                cmd.arg("bud");
                cmd
            }
        }
    }

    fn size(&self, reference: &str) -> Option<u64> {
        let tool = match self {
            Self::Podman => "podman",
            Self::Buildah => "buildah",
        };
        let out = output(Command::new(tool).args([
            "image",
            "inspect",
            "--format",
            "{{.Size}}",
            reference,
        ]))
        .ok()?;
        out.trim().parse().ok()
    }
}

/// `bpfhost 0.1.0 (commit abc…)` → (`0.1.0`, `abc…`).
fn parse_version(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix("bpfhost ")?;
    let (version, commit) = rest.split_once(" (commit ")?;
    Some((version.to_owned(), commit.strip_suffix(')')?.to_owned()))
}

/// The workspace's `repository`, for the image's source label.
fn repository(ws: &Workspace) -> Result<String> {
    let text = std::fs::read_to_string(ws.root.join("Cargo.toml"))?;
    let manifest: toml::Table = text.parse().context("parsing Cargo.toml")?;
    manifest
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("repository"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .context("Cargo.toml has no workspace.package.repository")
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let info = output(Command::new(rustc).arg("-vV"))?;
    info.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("`rustc -vV` names no host")
}

/// Runs a command and returns its standard output.
fn output(cmd: &mut Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("starting {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_line_gives_version_and_commit() {
        assert_eq!(
            parse_version("bpfhost 0.1.0 (commit 0123abc)\n"),
            Some(("0.1.0".to_owned(), "0123abc".to_owned()))
        );
        assert_eq!(parse_version("bpfhost 0.1.0"), None);
    }
}
