//! The plugin template builds on the first try: `bpfhost plugin new`, then
//! the new crate's native tests, `bpfhost plugin build`, and `bpfhost plugin
//! test` on the dump it ships with, all as an author would run them.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::{Workspace, status};

const NAME: &str = "template-check";

/// Runs the whole loop in a scratch directory under the target dir.
pub fn check(ws: &Workspace) -> Result<()> {
    let scratch = ws.target.join("template-check");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    // The agent from this checkout (a no-op after `cargo test`).
    ws.cargo(&["build", "--quiet", "--package", "bpfhost"], &[])?;
    let agent = ws.target.join("debug/bpfhost");
    status(
        Command::new(&agent)
            .args(["plugin", "new", NAME, "--dir"])
            .arg(&scratch)
            .arg("--sdk")
            .arg(ws.root.join("plugin-sdk")),
    )?;
    let crate_dir = scratch.join(NAME);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Its own target dir, kept between runs, so only the first run compiles
    // the SDK's dependencies.
    let target_dir = ws.target.join("template-build");
    let manifest = crate_dir.join("Cargo.toml");
    // Quiet unless it fails: the output is the author's, not our tests'.
    let build = |args: &[&str]| -> Result<()> {
        let out = Command::new(&cargo)
            .args(args)
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            .output()
            .context("running cargo on the template")?;
        ensure!(
            out.status.success(),
            "cargo {args:?} on the new plugin failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    build(&["test"])?;
    // The author's build: `bpfhost plugin build`, no wasm-tools involved.
    let component = crate_dir.join(format!("{NAME}.wasm"));
    let out = Command::new(&agent)
        .args(["plugin", "build", "--dir"])
        .arg(&crate_dir)
        .arg("-o")
        .arg(&component)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .context("running bpfhost plugin build")?;
    ensure!(
        out.status.success(),
        "bpfhost plugin build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&agent)
        .args(["plugin", "test"])
        .arg(&component)
        .arg("--dump")
        .arg(crate_dir.join("testdata/dump.json"))
        .output()
        .context("running bpfhost plugin test")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "bpfhost plugin test failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        text.contains("template_check_events_total{pid=\"42\"} 7"),
        "unexpected exposition from the template:\n{text}"
    );
    eprintln!("xtask: the plugin template builds and decodes its dump");
    remove(&scratch);
    Ok(())
}

fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
