//! BPF objects: `bpf/**/*.bpf.c` → `<target>/artifacts/bpf/**/*.bpf.o`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::{Workspace, status};

/// Compiles every BPF source, generating `vmlinux.h` first when missing.
pub fn build(ws: &Workspace) -> Result<()> {
    let include = ws.artifacts("include")?;
    let vmlinux = include.join("vmlinux.h");
    if !vmlinux.exists() {
        generate_vmlinux_h(&vmlinux)?;
    }
    let out_root = ws.artifacts("bpf")?;
    let src_root = ws.root.join("bpf");
    let mut sources = Vec::new();
    collect_sources(&src_root, &mut sources)?;
    sources.sort();
    for src in &sources {
        let rel = src.strip_prefix(&src_root).context("source under bpf/")?;
        let out = out_root.join(rel).with_extension("o");
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut cmd = Command::new("clang");
        cmd.args([
            "-O2",
            "-g",
            "-Wall",
            "-Werror",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
        ])
        .arg("-I")
        .arg(&include)
        .arg("-I")
        .arg(&src_root)
        .args(["-I", "/usr/include/x86_64-linux-gnu", "-c"])
        .arg(src)
        .arg("-o")
        .arg(&out);
        status(&mut cmd)
            .with_context(|| format!("compiling {} (needs clang and libbpf-dev)", rel.display()))?;
    }
    eprintln!(
        "xtask: {} BPF objects in {}",
        sources.len(),
        out_root.display()
    );
    Ok(())
}

fn generate_vmlinux_h(path: &Path) -> Result<()> {
    let out = Command::new("bpftool")
        .args([
            "btf",
            "dump",
            "file",
            "/sys/kernel/btf/vmlinux",
            "format",
            "c",
        ])
        .output()
        .context("running bpftool (apt-get install bpftool) to generate vmlinux.h")?;
    anyhow::ensure!(
        out.status.success(),
        "bpftool btf dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(path, out.stdout).with_context(|| format!("writing {}", path.display()))
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_sources(&path, out)?;
        } else if path.to_string_lossy().ends_with(".bpf.c") {
            out.push(path);
        }
    }
    Ok(())
}
