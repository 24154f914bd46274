//! USDT through the whole agent: a manifest in the form
//! (`programs: [{name, usdt: {binary, provider, name, pid, cookie}}]`)
//! attaching libbpf `usdt.bpf.h` code to Debian's python3, decoded by the
//! ebpf-exporter plugin and read back from `/metrics`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use bpfhost::testing::{artifact, require_kernel};

use super::support::{Agent, ManifestDir, scrape_until};

/// Collections of generation 1 the traced python makes.
const COLLECTIONS: usize = 11;

/// The exporter: `fx_usdt_args` on `python:gc__start` (semaphore-guarded,
/// its argument in memory, `-4@112(%rsp)`) in process `pid`, cookie 5;
/// `usdt_args` as a counter labelled by its key's five words, decoded by
/// the ebpf-exporter plugin (granted the lookups it imports).
fn manifest(pid: u32) -> String {
    let label = |name: &str| format!("{{name: {name}, size: 8, decoders: [{{name: uint}}]}}");
    format!(
        "apiVersion: bpfhost.dev/v1alpha1\nkind: BpfExporter\nmetadata: {{name: gc}}\nspec:\n  \
         object: {{path: {object}}}\n  \
         programs:\n    \
         - {{name: fx_usdt_args, usdt: {{binary: /usr/bin/python3, provider: python, name: gc__start, pid: {pid}, cookie: 5}}}}\n    \
         - {{name: fx_usdt_sema, autoload: false}}\n    \
         - {{name: fx_usdt_python, autoload: false}}\n  \
         decoder:\n    \
         path: {decoder}\n    \
         lookups: [ksym, cgroup, ifname, syscall, errno, majorminor, pci]\n    \
         config:\n      \
         metrics:\n        \
         counters:\n          \
         - name: usdt_args\n            \
         help: USDT probe hits by cookie and arguments\n            \
         labels: [{}, {}, {}, {}, {}]\n",
        label("cookie"),
        label("arg_count"),
        label("generation"),
        label("second"),
        label("third"),
        object = artifact("bpf/fixtures/usdt.bpf.o").display(),
        decoder = artifact("plugins/ebpf-exporter.wasm").display(),
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root and a BPF-capable kernel"]
async fn a_manifest_usdt_entry_counts_python_gc_runs_in_metrics() {
    require_kernel();
    // Automatic collections off, so that generation 1 runs only when asked;
    // it waits for a line, collects, and says so.
    let script = format!(
        "import gc, sys\ngc.disable()\nsys.stdin.readline()\n\
         for _ in range({COLLECTIONS}):\n    gc.collect(1)\nprint('done', flush=True)\n\
         sys.stdin.readline()\n"
    );
    let mut python = Command::new("/usr/bin/python3")
        .args(["-S", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python3");
    let mut stdin = python.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(python.stdout.take().expect("stdout"));

    let dir = ManifestDir::new();
    dir.write("gc.yaml", &manifest(python.id()));
    let agent = Agent::start(&[dir.path()]).await;
    let up = scrape_until(&agent, "the exporter up", |s| {
        s.value("bpfhost_exporter_up", &[("exporter", "gc")]) == Some(1.0)
    })
    .await;
    assert_eq!(
        up.value(
            "bpfhost_program_attached",
            &[("exporter", "gc"), ("program", "fx_usdt_args")]
        ),
        Some(1.0),
        "{}",
        up.body
    );

    writeln!(stdin).expect("start collecting");
    let mut line = String::new();
    stdout.read_line(&mut line).expect("python output");
    assert_eq!(line, "done\n");
    let labels = [
        ("cookie", "5"),
        ("arg_count", "1"),
        ("generation", "1"),
        ("second", "0"),
        ("third", "0"),
    ];
    let scrape = scrape_until(&agent, "the collections counted", |s| {
        s.value("ebpf_exporter_usdt_args_total", &labels).is_some()
    })
    .await;
    assert_eq!(
        scrape.value("ebpf_exporter_usdt_args_total", &labels),
        Some(COLLECTIONS as f64),
        "{}",
        scrape.body
    );
    scrape.assert_promtool_accepts();
    agent.stop().await;
    drop(stdin);
    let _ = python.wait();
}
