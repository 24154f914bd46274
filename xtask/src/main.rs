//! `cargo xtask`: builds what the agent loads at run time.
//!
//! - `cargo xtask build`: BPF objects from `bpf/**/*.bpf.c` (clang), decoder
//!   components from `plugins/*` (wasm32 + wit-component), and the agent.
//! - `cargo xtask test [ARGS]`: `build`, the image (as root or in CI, for the
//!   image's e2e test), then `cargo test --workspace ARGS`, the unit tests
//!   of the decoders in other languages, the plugin template check, and the
//!   pipeline benchmark's quick run.
//! - `cargo xtask bench [ARGS]`: BPF objects and plugins, then the pipeline
//!   benchmark in release: `cargo bench -p bpfhost --bench pipeline -- ARGS`.
//! - `cargo xtask image`: the agent in release, static, in a `FROM scratch`
//!   image `localhost/bpfhost:<version>` (podman); prints the reference last.
//! - `cargo xtask gen-tables`: regenerates the syscall and errno name
//!   tables in `host/src/lookup/` from the kernel UAPI headers.
//! - `cargo xtask demo [ARGS]`: `build`, then `bpfhost run --manifests crd/examples ARGS`.
//! - `cargo xtask conformance [PATH...]`: for each `*.bpf.o` under PATH
//!   (default: the corpus `bpf/conformance/`, built first), whether
//!   `bpftool prog loadall` and bpfhost's loader load it, as a table
//!   (`host/examples/conformance.rs`; as root).
//!
//! Artifacts land in `<target>/artifacts/{bpf,plugins,include}`.

mod bpf;
mod image;
mod languages;
mod plugins;
mod tables;
mod template;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let ws = Workspace::locate()?;
    match task.as_str() {
        "build" => ws.build_all(),
        "build-bpf" => bpf::build(&ws),
        "build-plugins" => plugins::build(&ws),
        "test-languages" => languages::test(&ws),
        "template-check" => template::check(&ws),
        "gen-tables" => tables::generate(&ws),
        "image" => {
            plugins::build(&ws)?;
            let reference = image::build(&ws)?;
            println!("{reference}");
            Ok(())
        }
        "test" => {
            // `cargo test` builds the agent itself, with the same features.
            bpf::build(&ws)?;
            plugins::build(&ws)?;
            let mut args = rest;
            if kernel_tests(&mut args) {
                // The image's e2e test runs it under podman (as root).
                let reference = image::build(&ws)?;
                // SAFETY: single-threaded; read by the tests cargo starts.
                unsafe { std::env::set_var(IMAGE_ENV, reference) };
            }
            ws.cargo(&["test", "--workspace"], &args)?;
            languages::test(&ws)?;
            template::check(&ws)?;
            // So the benchmark cannot rot: small sizes, two rounds, debug.
            ws.cargo(QUICK_BENCH, &[])
        }
        "bench" => {
            bpf::build(&ws)?;
            plugins::build(&ws)?;
            ws.cargo(
                &["bench", "-p", "bpfhost", "--bench", "pipeline", "--"],
                &rest,
            )
        }
        "demo" => {
            ws.build_all()?;
            let agent = ws.target.join("debug/bpfhost");
            let mut cmd = Command::new(agent);
            cmd.args(["run", "--manifests"])
                .arg(ws.root.join("crd/examples"))
                .args(&rest);
            status(&mut cmd)
        }
        "conformance" => {
            if rest.is_empty() {
                bpf::build(&ws)?;
            }
            // cargo runs in the workspace root: paths relative to here.
            let paths = rest
                .iter()
                .map(|p| std::path::absolute(p).map(|p| p.display().to_string()))
                .collect::<std::io::Result<Vec<_>>>()?;
            ws.cargo(
                &["run", "-p", "bpfhost", "--example", "conformance", "--"],
                &paths,
            )
        }
        _ => bail!(
            "usage: cargo xtask build|build-bpf|build-plugins|image|gen-tables|test [cargo test args]|bench [--quick] [--rounds N] [--sizes 1k,1M]|demo [bpfhost run args]|conformance [OBJECT or DIR...]"
        ),
    }
}

/// Real-kernel tests are `#[ignore]`d so that a plain `cargo test` reports
/// them as not run. They run here as root, or when `BPFHOST_REQUIRE_KERNEL`
/// is set (CI), where a missing capability then fails them. True when they run.
fn kernel_tests(args: &mut Vec<String>) -> bool {
    // /proc/self belongs to the process's effective user.
    let root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if root || std::env::var_os("BPFHOST_REQUIRE_KERNEL").is_some() {
        if !args.iter().any(|a| a == "--") {
            args.push("--".into());
        }
        args.push("--include-ignored".into());
        true
    } else {
        eprintln!(
            "\n*** xtask: not root: real-kernel tests are SKIPPED (reported as ignored below); \
             run as root or set BPFHOST_REQUIRE_KERNEL=1 to run them ***\n"
        );
        false
    }
}

/// The image the e2e tests run, as `cargo xtask image` built it.
const IMAGE_ENV: &str = "BPFHOST_IMAGE";

/// The pipeline benchmark's quick run, part of `cargo xtask test`.
const QUICK_BENCH: &[&str] = &[
    "test", "-p", "bpfhost", "--bench", "pipeline", "--", "--quick",
];

/// Paths of the workspace being built.
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    pub target: PathBuf,
}

impl Workspace {
    fn locate() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask lives inside the workspace")?
            .to_path_buf();
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        Ok(Self { root, target })
    }

    /// `$BPFHOST_ARTIFACTS/<sub>` or `<target>/artifacts/<sub>`, created
    /// (the same lookup as the tests' `bpfhost::testing::artifacts_dir`).
    pub fn artifacts(&self, sub: &str) -> Result<PathBuf> {
        let root = std::env::var_os("BPFHOST_ARTIFACTS")
            .map_or_else(|| self.target.join("artifacts"), PathBuf::from);
        let dir = root.join(sub);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    fn build_all(&self) -> Result<()> {
        bpf::build(self)?;
        plugins::build(self)?;
        self.cargo(&["build", "--package", "bpfhost"], &[])
    }

    /// Runs cargo in the workspace root.
    pub fn cargo(&self, args: &[&str], extra: &[String]) -> Result<()> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&self.root).args(args).args(extra);
        status(&mut cmd)
    }
}

/// Runs a command, failing with its command line when it fails.
pub fn status(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let st = cmd.status().with_context(|| format!("starting {shown}"))?;
    if !st.success() {
        bail!("{shown} failed with {st}");
    }
    Ok(())
}
