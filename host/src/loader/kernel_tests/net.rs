//! Packet attach kinds on the real kernel: socket filters on the host,
//! XDP and TC on a veth pair of our own, cgroup skb on the v2 root.

use super::{
    Veth, drop_and_assert_unloaded, eventually, hits, load_fixture, lookup, possible_cpus, u64_sum,
};
use crate::loader::ProgramKind;
use crate::manifest::spec::{
    AttachPoint, Direction, InterfaceTarget, ProgramAttach, TcTarget, XdpMode, XdpTarget,
};
use crate::testing::require_kernel;

const IPPROTO_UDP: u32 = 17;

fn send_udp_to_loopback(times: usize) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    for _ in 0..times {
        socket.send_to(b"bpfhost", "127.0.0.1:9").expect("send udp");
    }
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn packets_program_counts_udp_on_every_interface() {
    require_kernel();
    let object = load_fixture("bpf/packets.bpf.o", &[]).expect("load packets");
    assert_eq!(object.programs()[0].target, "all interfaces");
    let map = object.map("packets_by_proto").expect("map");
    let udp = || {
        let value = lookup(&map.fd, &IPPROTO_UDP.to_le_bytes(), 8 * possible_cpus());
        u64_sum(&value.expect("array slot exists"))
    };
    let before = udp();
    send_udp_to_loopback(5);
    eventually("5 udp packets", || udp() >= before + 5);
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn socket_filter_attaches_to_one_interface() {
    require_kernel();
    let programs = [ProgramAttach::at(
        "fx_socket",
        AttachPoint::Socket(InterfaceTarget {
            interface: Some("lo".into()),
        }),
    )];
    let object = load_fixture("bpf/fixtures/socket.bpf.o", &programs).expect("load");
    assert_eq!(object.programs()[0].target, "interface lo");
    send_udp_to_loopback(3);
    eventually("packets on lo", || hits(&object) >= 3);
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn xdp_attaches_by_ifname_section_and_by_explicit_interface() {
    require_kernel();
    // `bhxdp0` is the interface named in the fixture's `xdp/bhxdp0` section.
    let veth = Veth::create("bhxdp0", 201);
    let object = load_fixture("bpf/fixtures/xdp_ifname.bpf.o", &[]).expect("load xdp/<ifname>");
    assert_eq!(object.programs()[0].section, "xdp/bhxdp0");
    assert_eq!(object.programs()[0].target, "bhxdp0 (default mode)");
    eventually("xdp packets", || {
        veth.send_traffic();
        hits(&object) > 0
    });
    drop_and_assert_unloaded(object);

    let programs = [ProgramAttach::at(
        "fx_xdp",
        AttachPoint::Xdp(XdpTarget {
            interface: veth.name.clone(),
            mode: XdpMode::Skb,
        }),
    )];
    let object = load_fixture("bpf/fixtures/xdp.bpf.o", &programs).expect("load xdp");
    eventually("xdp packets (skb mode)", || {
        veth.send_traffic();
        hits(&object) > 0
    });
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn tc_programs_attach_in_both_directions() {
    require_kernel();
    let veth = Veth::create("bhtc0", 202);
    let tc = |name: &str, direction| {
        ProgramAttach::at(
            name,
            AttachPoint::Tc(TcTarget {
                interface: veth.name.clone(),
                direction,
            }),
        )
    };
    let programs = [
        tc("fx_tc_in", Direction::Ingress),
        tc("fx_tc_eg", Direction::Egress),
        tc("fx_tc", Direction::Ingress),
        tc("fx_classifier", Direction::Egress),
    ];
    let object = load_fixture("bpf/fixtures/tc.bpf.o", &programs).expect("load tc");
    let kinds: Vec<ProgramKind> = object.programs().iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProgramKind::Tc; 4]);
    assert_eq!(object.programs()[1].target, "bhtc0 egress");
    eventually("tc packets", || {
        veth.send_traffic();
        hits(&object) > 0
    });
    drop_and_assert_unloaded(object);
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn cgroup_skb_attaches_to_the_cgroup2_root() {
    require_kernel();
    let root = crate::sys::cgroup2_root().expect("a cgroup v2 hierarchy");
    let object = load_fixture("bpf/fixtures/cgroup_skb.bpf.o", &[]).expect("load");
    assert_eq!(
        object.programs()[0].target,
        format!("{} ingress", root.display())
    );
    eventually("cgroup skb packets", || {
        send_udp_to_loopback(1);
        hits(&object) > 0
    });
    drop_and_assert_unloaded(object);
}
