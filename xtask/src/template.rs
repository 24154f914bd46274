//! The plugin templates build on the first try, in every language: `bpfhost
//! plugin new --lang L`, then the project's native tests (`bpfhost plugin
//! test`), `bpfhost plugin build`, and `bpfhost plugin test` of the
//! component on the dump it ships with, all as an author would run them.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result, ensure};

use crate::{Workspace, status};

/// Each language, as `--lang` names it, with the plugin name it is checked as.
const LANGUAGES: [(&str, &str); 4] = [
    ("rust", "template-check"),
    ("python", "template-check-py"),
    ("javascript", "template-check-js"),
    ("c", "template-check-c"),
];

/// Runs the whole loop for each language in a scratch directory under the
/// target dir.
pub fn check(ws: &Workspace) -> Result<()> {
    let scratch = ws.target.join("template-check");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    // The agent from this checkout (a no-op after `cargo test`).
    ws.cargo(&["build", "--quiet", "--package", "bpfhost"], &[])?;
    let agent = ws.target.join("debug/bpfhost");
    // Rust crates get their own target dir, kept between runs, so only the
    // first run compiles the SDK's dependencies.
    let target_dir = ws.target.join("template-build");
    for (lang, name) in LANGUAGES {
        status(
            Command::new(&agent)
                .args(["plugin", "new", name, "--lang", lang, "--dir"])
                .arg(&scratch)
                .arg("--sdk")
                .arg(ws.root.join("plugin-sdk")),
        )?;
        let dir = scratch.join(name);
        // Quiet unless it fails: the output is the author's, not our tests'.
        let run = |args: &[&std::ffi::OsStr], what: &str| -> Result<Output> {
            let out = Command::new(&agent)
                .arg("plugin")
                .args(args)
                .env("CARGO_TARGET_DIR", &target_dir)
                .output()
                .with_context(|| format!("running bpfhost plugin {what}"))?;
            ensure!(
                out.status.success(),
                "bpfhost plugin {what} on the {lang} template failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(out)
        };
        run(
            &["test".as_ref(), "--dir".as_ref(), dir.as_os_str()],
            "test",
        )?;
        // The author's build: no wasm-tools involved.
        let component = dir.join(format!("{name}.wasm"));
        run(
            &[
                "build".as_ref(),
                "--dir".as_ref(),
                dir.as_os_str(),
                "-o".as_ref(),
                component.as_os_str(),
            ],
            "build",
        )?;
        let dump = dir.join("testdata/dump.json");
        let out = run(
            &[
                "test".as_ref(),
                component.as_os_str(),
                "--dump".as_ref(),
                dump.as_os_str(),
            ],
            "test DECODER",
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        let series = format!("{}_events_total{{pid=\"42\"}} 7", name.replace('-', "_"));
        ensure!(
            text.contains(&series),
            "unexpected exposition from the {lang} template (no `{series}`):\n{text}"
        );
        eprintln!(
            "xtask: the {lang} plugin template builds ({} KiB) and decodes its dump",
            std::fs::metadata(&component).map_or(0, |m| m.len() / 1024)
        );
    }
    remove(&scratch);
    Ok(())
}

fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
