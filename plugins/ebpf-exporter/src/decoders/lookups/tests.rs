//! The decoders that ask the host, answered by the SDK's native fake.
//! Tests named `upstream_*` port `ebpf_exporter` v2.5's cases (the Go test
//! each comes from is named above it).

use bpfhost_plugin_sdk::lookup::fake::{self, Fake};

use super::*;

/// One of the lookup decoders, e.g. `Lookups::errno`.
type Decode = fn(&mut Lookups, &[u8], &mut Vec<u8>) -> Result<(), String>;

/// Runs `decode` on each input and checks its output.
fn check(lookups: &mut Lookups, decode: Decode, cases: &[(&[u8], &str)]) {
    for (input, expected) in cases {
        let mut out = Vec::new();
        decode(lookups, input, &mut out).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(String::from_utf8_lossy(&out), *expected, "input {input:?}");
    }
}

/// Installs kernel symbols the way the agent answers `kernel-symbol`: the
/// symbol at or before an address, none before the first one nor at or
/// past the last one (whose end the agent cannot know). `kernel_symbols`
/// of the SDK's fake answers exact addresses only, so every address a
/// test asks about (and the byte before it, which `ksym` asks too) is
/// filled in from the table.
fn install_kallsyms(fake: &mut Fake, table: &[(u64, &str)], asked: &[u64]) {
    for &address in asked
        .iter()
        .chain(&asked.iter().map(|a| a - 1).collect::<Vec<_>>())
    {
        let after = table.partition_point(|(a, _)| *a <= address);
        if after > 0 && after < table.len() {
            fake.kernel_symbols
                .insert(address, table[after - 1].1.to_owned());
        }
    }
}

fn addresses(input: &[u8]) -> Vec<u64> {
    input
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .filter(|&a| a != 0)
        .collect()
}

// From TestErrnoDecoder.
#[test]
fn upstream_errno() {
    let mut answers = Fake::default();
    for (value, name) in [(1, "EPERM"), (32, "EPIPE"), (104, "ECONNRESET")] {
        answers.errnos.insert(value, name.to_owned());
    }
    fake::install(answers);
    check(
        &mut Lookups::default(),
        Lookups::errno,
        &[
            (b"0", "unknown:0"),
            (b"1", "EPERM"),
            (b"32", "EPIPE"),
            (b"104", "ECONNRESET"),
            (b"1000", "unknown:1000"),
        ],
    );
}

#[test]
fn errno_reads_unsigned_decimal_text_only() {
    let mut answers = Fake::default();
    answers.errnos.insert(2, "ENOENT".to_owned());
    fake::install(answers);
    // -2 as a u32, as `uint` prints it: not ENOENT, as in `ebpf_exporter`.
    check(
        &mut Lookups::default(),
        Lookups::errno,
        &[(b"4294967294", "unknown:4294967294")],
    );
    let err = Lookups::default()
        .errno(b"-2", &mut Vec::new())
        .unwrap_err();
    assert_eq!(err, r#"error parsing "-2" as uint"#);
}

// From TestSyscallDecoder, its amd64 table (the agent names x86-64 calls).
#[test]
fn upstream_syscall() {
    let mut answers = Fake::default();
    for (number, name) in [
        (0, "read"),
        (1, "write"),
        (293, "pipe2"),
        (447, "memfd_secret"),
    ] {
        answers.syscalls.insert(number, name.to_owned());
    }
    fake::install(answers);
    check(
        &mut Lookups::default(),
        Lookups::syscall,
        &[
            (b"0", "read"),
            (b"1", "write"),
            (b"293", "pipe2"),
            (b"447", "memfd_secret"),
            (b"9999", "unknown_syscall:9999"),
            (b"-1", "unknown_syscall:18446744073709551615"),
        ],
    );
}

// From TestIfNameDecoder.
#[test]
fn upstream_ifname() {
    let mut answers = Fake::default();
    answers.interfaces.insert(1, "lo".to_owned());
    answers.interfaces.insert(2_734_686_214, "eth42".to_owned());
    fake::install(answers);
    check(
        &mut Lookups::default(),
        Lookups::ifname,
        &[
            (&[0x1, 0x0, 0x0, 0x0], "lo"),
            (&[0x6, 0x0, 0x0, 0xa3], "eth42"),
            (&[0x0, 0x0, 0x0, 0x0], "unknown:0"),
        ],
    );
}

// From TestKsymDecoder: `ksym` names an address only where a symbol starts.
#[test]
fn upstream_ksym() {
    let table = [
        (0xffff_ffeb_19d9_0830, "pipe_lock"),
        (0xffff_ffeb_19d9_0870, "pipe_unlock"),
        // Not in the Go test's file: the agent never names the last
        // symbol, a real kallsyms has many after these.
        (0xffff_ffeb_19d9_08c0, "after_pipe_unlock"),
    ];
    let asked = [
        0xffff_ffeb_19d9_0828,
        0xffff_ffeb_19d9_0830,
        0xffff_ffeb_19d9_0870,
        0xffff_ffeb_19d9_0878,
    ];
    let mut answers = Fake::default();
    install_kallsyms(&mut answers, &table, &asked);
    fake::install(answers);
    check(
        &mut Lookups::default(),
        Lookups::ksym,
        &[
            (
                &[0x28, 0x08, 0xd9, 0x19, 0xeb, 0xff, 0xff, 0xff],
                "unknown_addr:0xffffffeb19d90828",
            ),
            (
                &[0x30, 0x08, 0xd9, 0x19, 0xeb, 0xff, 0xff, 0xff],
                "pipe_lock",
            ),
            (
                &[0x70, 0x08, 0xd9, 0x19, 0xeb, 0xff, 0xff, 0xff],
                "pipe_unlock",
            ),
            (
                &[0x78, 0x08, 0xd9, 0x19, 0xeb, 0xff, 0xff, 0xff],
                "unknown_addr:0xffffffeb19d90878",
            ),
        ],
    );
}

// From TestSymLookup (kallsyms/decoder_test.go), with the lines of its
// kallsyms.txt around the addresses asked.
#[test]
fn upstream_ksym_sym_lookup() {
    let table = [
        (0xffff_ffeb_19a8_a358, "mm_release"),
        (0xffff_ffeb_19a8_a480, "__pidfd_prepare"),
        (0xffff_ffeb_19a8_a5c0, "__mmput"),
        (0xffff_ffeb_19ca_df78, "wait_for_stable_page"),
        (0xffff_ffeb_19ca_dfc0, "mark_page_accessed"),
        (0xffff_ffeb_19ca_e008, "set_page_writeback"),
    ];
    let asked = [
        0xffff_ffeb_19a8_a478,
        0xffff_ffeb_19a8_a480,
        0xffff_ffeb_19a8_a482,
        0xffff_ffeb_19ca_dfc0,
    ];
    let mut answers = Fake::default();
    install_kallsyms(&mut answers, &table, &asked);
    fake::install(answers);
    check(
        &mut Lookups::default(),
        Lookups::ksym,
        &[
            (
                &0xffff_ffeb_19a8_a478_u64.to_le_bytes(),
                "unknown_addr:0xffffffeb19a8a478",
            ),
            (&0xffff_ffeb_19a8_a480_u64.to_le_bytes(), "__pidfd_prepare"),
            (
                &0xffff_ffeb_19a8_a482_u64.to_le_bytes(),
                "unknown_addr:0xffffffeb19a8a482",
            ),
            (
                &0xffff_ffeb_19ca_dfc0_u64.to_le_bytes(),
                "mark_page_accessed",
            ),
        ],
    );
}

// From TestKStackDecoder. The Go test adds `zero` to kallsyms after its
// decoder has read the file, to show a miss re-reads it; the agent does
// that itself, so the table here has `zero` from the start.
#[test]
fn upstream_kstack() {
    let table = [
        (0x02, "zero"),
        (0x04, "one"),
        (0x06, "two"),
        (0xaa, "three"),
        // The agent never names past the last symbol (see upstream_ksym).
        (0x1000, "after_three"),
    ];
    let frames =
        |addresses: &[u64]| -> Vec<u8> { addresses.iter().flat_map(|a| a.to_le_bytes()).collect() };
    let cases = [
        (frames(&[0, 0]), ""),
        (frames(&[0x04, 0x05, 0x06, 0]), "one\none\ntwo"),
        (frames(&[0xab, 0x10, 0x06, 0]), "three\ntwo\ntwo"),
        (frames(&[0xab, 0x03, 0]), "three\nzero"),
        (frames(&[0x01, 0xac, 0x01, 0]), "??\nthree\n??"),
    ];
    let mut answers = Fake::default();
    let asked: Vec<u64> = cases
        .iter()
        .flat_map(|(input, _)| addresses(input))
        .collect();
    install_kallsyms(&mut answers, &table, &asked);
    fake::install(answers);
    let cases: Vec<(&[u8], &str)> = cases.iter().map(|(i, o)| (i.as_slice(), *o)).collect();
    check(&mut Lookups::default(), Lookups::kstack, &cases);
}

#[test]
fn cgroup_paths_are_under_sys_fs_cgroup_as_upstream_walks_them() {
    let mut answers = Fake::default();
    answers.cgroup_paths.insert(1, "/".to_owned());
    answers
        .cgroup_paths
        .insert(4242, "/system.slice/sshd.service".to_owned());
    fake::install(answers);
    check(
        &mut Lookups::default(),
        Lookups::cgroup,
        &[
            (b"1", "/sys/fs/cgroup"),
            (b"4242", "/sys/fs/cgroup/system.slice/sshd.service"),
            (b"7", "unknown_cgroup_id:7"),
            (b"-7", "unknown_cgroup_id:-7"),
        ],
    );
    let err = Lookups::default()
        .cgroup(b"abc", &mut Vec::new())
        .unwrap_err();
    assert_eq!(err, r#"error parsing "abc" as an integer"#);
}

#[test]
fn names_are_kept_across_scrapes_and_misses_are_asked_again() {
    let mut answers = Fake::default();
    answers.interfaces.insert(2, "eth0".to_owned());
    fake::install(answers);
    let mut lookups = Lookups::default();
    check(
        &mut lookups,
        Lookups::ifname,
        &[(&[2, 0, 0, 0], "eth0"), (&[3, 0, 0, 0], "unknown:3")],
    );

    // The host now knows interface 3, and has forgotten 2.
    let mut answers = Fake::default();
    answers.interfaces.insert(3, "eth1".to_owned());
    fake::install(answers);
    check(
        &mut lookups,
        Lookups::ifname,
        &[(&[3, 0, 0, 0], "unknown:3")],
    );
    lookups.new_scrape();
    check(
        &mut lookups,
        Lookups::ifname,
        &[(&[2, 0, 0, 0], "eth0"), (&[3, 0, 0, 0], "eth1")],
    );
}

#[test]
fn short_inputs_are_errors_that_say_how_short() {
    let err = Lookups::default()
        .ifname(&[1, 0], &mut Vec::new())
        .unwrap_err();
    assert_eq!(err, "needs 4 bytes, the input has 2");
    let err = Lookups::default()
        .kstack(&[1; 12], &mut Vec::new())
        .unwrap_err();
    assert_eq!(err, "a stack is 8-byte addresses, the input has 12 bytes");
}
