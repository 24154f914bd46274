//! `ebpf_exporter`'s per-program run figures, served while
//! `kernel.bpf_stats_enabled` is 1, from the kernel's `bpf_prog_info`.

use bpfhost::testing::require_kernel;

use super::super::support::{BpfStats, Scrape, get, sh_running_true};
use super::{config_dir, first_scrape, free_addr, spawn};

/// The `id` label of the `count_syscall` program of config `syscalls`.
fn program_id(scrape: &Scrape) -> String {
    let info = scrape
        .body
        .lines()
        .find(|l| l.starts_with("ebpf_exporter_ebpf_program_info{config=\"syscalls\""))
        .unwrap_or_else(|| panic!("no program info:\n{}", scrape.body));
    info.split("id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an id label")
        .to_owned()
}

#[tokio::test]
#[ignore = "needs root and a BPF-capable kernel"]
async fn run_time_and_count_follow_the_programs_runs() {
    require_kernel();
    let _stats = BpfStats::enable();
    let dir = config_dir();
    let addr = free_addr();
    let mut agent = spawn(
        dir.path(),
        &[
            "--config.names=syscalls",
            &format!("--web.listen-address={addr}"),
        ],
    );
    let before = first_scrape(addr, "/metrics", &mut agent).await;
    let id = program_id(&before);
    let count =
        |s: &Scrape| s.value_or_zero("ebpf_exporter_ebpf_program_run_count_total", &[("id", &id)]);
    let time = |s: &Scrape| {
        s.value_or_zero(
            "ebpf_exporter_ebpf_program_run_time_seconds",
            &[("id", &id)],
        )
    };
    // The program runs on every system call: ten execs are at least ten runs.
    sh_running_true("for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done");
    let after = get(addr, "/metrics", None).await;
    assert!(
        count(&after) >= count(&before) + 10.0,
        "runs went from {} to {}:\n{}",
        count(&before),
        count(&after),
        after.body
    );
    assert!(time(&after) > time(&before), "{}", after.body);
    for line in [
        "# TYPE ebpf_exporter_ebpf_program_run_count_total counter",
        "# TYPE ebpf_exporter_ebpf_program_run_time_seconds gauge",
    ] {
        assert!(
            after.body.lines().any(|l| l == line),
            "no `{line}`:\n{}",
            after.body
        );
    }
    after.assert_promtool_accepts();
}
