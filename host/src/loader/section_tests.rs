use super::*;

fn uprobe(target: &str, function: Option<&str>, offset: u64) -> UprobeTarget {
    UprobeTarget {
        target: target.into(),
        function: function.map(Into::into),
        offset,
        pid: None,
    }
}

/// Section name, kind, default attach point (or "needs one"), aya's name.
type Case = (
    &'static str,
    ProgramKind,
    Result<AttachPoint, ()>,
    Option<&'static str>,
);

#[test]
fn section_names_parse_to_kinds_and_default_attach_points() {
    use AttachPoint as A;
    use ProgramKind as K;
    let probe = |f: &str, offset| ProbeTarget {
        function: f.into(),
        offset,
    };
    // `__x64_sys_openat` on x86_64.
    let openat = format!("{}openat", SYSCALL_WRAPPER_PREFIX.unwrap_or("sys_"));
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("tracepoint/syscalls/sys_enter_write", K::Tracepoint, Ok(A::Tracepoint("syscalls/sys_enter_write".into())), None),
        ("tp/sched/sched_switch", K::Tracepoint, Ok(A::Tracepoint("sched/sched_switch".into())), None),
        ("tracepoint/sched", K::Tracepoint, Err(()), None),
        ("tracepoint", K::Tracepoint, Err(()), None),
        ("raw_tp/sys_enter", K::RawTracepoint, Ok(A::RawTracepoint("sys_enter".into())), None),
        ("raw_tracepoint/sched_switch", K::RawTracepoint, Ok(A::RawTracepoint("sched_switch".into())), None),
        ("raw_tp", K::RawTracepoint, Err(()), None),
        ("tp_btf/sched_switch", K::BtfTracepoint, Ok(A::BtfTracepoint("sched_switch".into())), None),
        ("fentry/do_unlinkat", K::Fentry, Ok(A::Fentry("do_unlinkat".into())), None),
        ("fentry.s/do_unlinkat", K::Fentry, Ok(A::Fentry("do_unlinkat".into())), None),
        ("fexit/do_unlinkat", K::Fexit, Ok(A::Fexit("do_unlinkat".into())), None),
        ("kprobe/tcp_sendmsg", K::Kprobe, Ok(A::Kprobe(probe("tcp_sendmsg", 0))), None),
        ("kprobe/tcp_sendmsg+0x10", K::Kprobe, Ok(A::Kprobe(probe("tcp_sendmsg", 16))), None),
        ("kretprobe/tcp_sendmsg", K::Kretprobe, Ok(A::Kretprobe(probe("tcp_sendmsg", 0))), None),
        ("kprobe", K::Kprobe, Err(()), None),
        ("ksyscall/openat", K::Kprobe, Ok(A::Kprobe(probe(&openat, 0))), Some("kprobe")),
        ("kretsyscall/openat", K::Kretprobe, Ok(A::Kretprobe(probe(&openat, 0))), Some("kretprobe")),
        ("ksyscall", K::Kprobe, Err(()), Some("kprobe")),
        ("uprobe", K::Uprobe, Err(()), None),
        ("uprobe//usr/lib/libc.so.6:malloc", K::Uprobe, Ok(A::Uprobe(uprobe("/usr/lib/libc.so.6", Some("malloc"), 0))), None),
        ("uprobe/libc.so.6:malloc+8", K::Uprobe, Ok(A::Uprobe(uprobe("libc.so.6", Some("malloc"), 8))), None),
        ("uprobe//bin/app:0x1234", K::Uprobe, Ok(A::Uprobe(uprobe("/bin/app", None, 0x1234))), None),
        ("uretprobe/libc.so.6:free", K::Uretprobe, Ok(A::Uretprobe(uprobe("libc.so.6", Some("free"), 0))), None),
        ("uprobe.s/libc.so.6:free", K::Uprobe, Ok(A::Uprobe(uprobe("libc.so.6", Some("free"), 0))), None),
        ("uprobe/no_colon", K::Uprobe, Err(()), None),
        ("socket", K::Socket, Ok(A::Socket(InterfaceTarget::default())), None),
        ("xdp", K::Xdp, Err(()), None),
        ("xdp/eth0", K::Xdp, Ok(A::Xdp(XdpTarget { interface: "eth0".into(), mode: XdpMode::Default })), Some("xdp")),
        ("xdp.frags/eth0", K::Xdp, Ok(A::Xdp(XdpTarget { interface: "eth0".into(), mode: XdpMode::Default })), Some("xdp.frags")),
        ("tc", K::Tc, Err(()), Some("classifier")),
        ("tc/ingress", K::Tc, Err(()), Some("classifier")),
        ("tcx/egress", K::Tc, Err(()), Some("classifier")),
        ("classifier", K::Tc, Err(()), None),
        ("cgroup_skb/ingress", K::CgroupSkb, Ok(A::CgroupSkb(CgroupSkbTarget { cgroup: None, direction: Direction::Ingress })), None),
        ("cgroup_skb/egress", K::CgroupSkb, Ok(A::CgroupSkb(CgroupSkbTarget { cgroup: None, direction: Direction::Egress })), None),
        ("cgroup/skb", K::CgroupSkb, Err(()), None),
    ];
    for (name, kind, default, aya_name) in cases {
        let section = parse(name).unwrap_or_else(|| panic!("{name}: not parsed"));
        assert_eq!(section.kind, kind, "{name}");
        assert_eq!(section.default_attach.map_err(|_| ()), default, "{name}");
        assert_eq!(section.aya_name.as_deref(), aya_name, "{name}");
    }
}

#[test]
fn perf_event_defaults_to_cpu_clock() {
    let section = parse("perf_event").expect("parsed");
    let Ok(AttachPoint::PerfEvent(target)) = section.default_attach else {
        panic!("no default: {section:?}");
    };
    assert_eq!(target.event, "cpu-clock");
    assert_eq!(target.frequency, Some(DEFAULT_PERF_FREQUENCY));
}

#[test]
fn unknown_sections_are_rejected() {
    for name in [
        "bogus/thing",
        "xdp/cpumap",
        "xdp/devmap",
        "cgroup_skb",
        "cgroup_skb/sideways",
        ".text",
        "lsm/file_open",
    ] {
        assert_eq!(parse(name), None, "{name}");
    }
}

#[test]
fn usdt_sections_name_binary_provider_and_probe() {
    let section = parse("usdt//usr/bin/python3:python:function__entry").expect("usdt");
    assert_eq!(section.kind, ProgramKind::Usdt);
    assert_eq!(
        section.default_attach,
        Ok(AttachPoint::Usdt(UsdtTarget {
            binary: "/usr/bin/python3".into(),
            provider: "python".into(),
            name: "function__entry".into(),
            pid: None,
            cookie: None,
        }))
    );
    // aya sees a uprobe section, a distinct one per USDT section.
    assert_eq!(
        section.aya_name.as_deref(),
        Some("uprobe/usdt//usr/bin/python3:python:function__entry")
    );
    let bare = parse("usdt").expect("bare usdt");
    assert_eq!(
        bare.default_attach,
        Err("a binary, provider and probe name")
    );
    assert_eq!(bare.aya_name.as_deref(), Some("uprobe/usdt"));
    // Two parts are not enough, and none may be empty.
    for incomplete in ["usdt/libc:probe", "usdt/:p:n", "usdt/b::n", "usdt/b:p:"] {
        let parsed = parse(incomplete).expect("a usdt section");
        assert!(parsed.default_attach.is_err(), "{incomplete}");
    }
    assert!(ProgramKind::Usdt.fits(&section.default_attach.expect("target")));
    assert!(!ProgramKind::Uprobe.fits(&AttachPoint::Usdt(UsdtTarget {
        binary: "b".into(),
        provider: "p".into(),
        name: "n".into(),
        pid: None,
        cookie: None,
    })));
}

#[test]
fn kinds_fit_only_their_attach_points() {
    let tp = AttachPoint::Tracepoint("a/b".into());
    assert!(ProgramKind::Tracepoint.fits(&tp));
    assert!(!ProgramKind::RawTracepoint.fits(&tp));
    assert!(ProgramKind::Xdp.fits(&AttachPoint::None));
    assert_eq!(attach_kind_name(&tp), "tracepoint");
}
