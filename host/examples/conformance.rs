//! Conformance with libbpf over a corpus of BPF objects: for each
//! `*.bpf.o` under the given paths (default: the in-repo corpus,
//! `<artifacts>/bpf/conformance`), whether `bpftool prog loadall` and
//! bpfhost's loader load it, as a Markdown table, then the figures.
//! Exits 1 when libbpf loads an object that bpfhost refuses. Needs root.
//!
//! `cargo xtask conformance [PATH...]` builds the corpus and runs this.

use std::path::PathBuf;
use std::process::ExitCode;

use bpfhost::testing::conformance::{self, Figures, Row};
use bpfhost::testing::{artifacts_dir, is_root};

fn main() -> ExitCode {
    let mut paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        paths.push(artifacts_dir().join("bpf/conformance"));
    }
    if !is_root() {
        eprintln!("conformance: loading BPF objects needs root");
        return ExitCode::FAILURE;
    }
    let mut rows: Vec<Row> = Vec::new();
    for path in &paths {
        let objects = match conformance::objects(path) {
            Ok(objects) => objects,
            Err(error) => {
                eprintln!("conformance: reading {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        };
        rows.extend(objects.iter().map(|o| conformance::compare(o)));
    }
    print!("{}", conformance::table(&rows, 110));
    let figures = Figures::of(&rows);
    println!("\n{figures}");
    for row in rows.iter().filter(|r| r.is_regression()) {
        if let conformance::Verdict::Refused { detail, .. } = &row.bpfhost {
            println!(
                "\n{}: libbpf loads it, bpfhost refuses:\n{detail}",
                row.object.display()
            );
        }
    }
    if figures.regressions > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
