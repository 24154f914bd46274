//! The perf event array: `bpf/tcp_retransmits.bpf.c`'s records of a TCP
//! connection whose segments a firewall rule drops for a while, with the
//! connection's exact addresses and ports.

use std::io::Write;
use std::net::{Ipv4Addr, TcpStream};
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use super::Collector;
use crate::events::{Batch, BatchLimits, DropReason, Readers};
use crate::loader::kernel_tests::{eventually, load_fixture};
use crate::testing::netns::{Veth, listen_in, run};
use crate::testing::require_kernel;

const AF_INET: u16 = 2;

/// A `retransmits` record: family, ports (host order), addresses (IPv4 in
/// the first 4 bytes).
#[derive(Debug, PartialEq, Eq)]
struct Retransmit {
    family: u16,
    sport: u16,
    dport: u16,
    saddr: [u8; 16],
    daddr: [u8; 16],
}

fn parse(record: &[u8]) -> Retransmit {
    // 38 bytes, padded by the kernel to 8 bytes with the sample's u32 size.
    assert_eq!(
        record.len(),
        44,
        "a retransmit record with its perf padding"
    );
    let u16_at = |at: usize| u16::from_le_bytes([record[at], record[at + 1]]);
    Retransmit {
        family: u16_at(0),
        sport: u16_at(2),
        dport: u16_at(4),
        saddr: record[6..22].try_into().expect("16 bytes"),
        daddr: record[22..38].try_into().expect("16 bytes"),
    }
}

fn ipv4(addr: Ipv4Addr) -> [u8; 16] {
    let mut bytes = [0; 16];
    bytes[..4].copy_from_slice(&addr.octets());
    bytes
}

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn retransmits_arrive_through_the_perf_buffers_with_their_addresses() {
    require_kernel();
    let veth = Veth::create("evkrt", 177);
    let netns = "evkrt-ns";
    let mut object =
        load_fixture("bpf/tcp_retransmits.bpf.o", &[]).expect("load bpf/tcp_retransmits.bpf.o");
    let map = object
        .take_event_map("retransmits")
        .expect("take retransmits");
    assert_eq!(map.kind(), "perf event array");
    let (tx, rx) = sync_channel(64);
    let (readers, counters) =
        Readers::start("retransmits", vec![map], &[BatchLimits::default()], tx).expect("start");
    let collector = Collector::start(rx);

    let server_ip: Ipv4Addr = veth.peer_ip.parse().expect("peer ip");
    let server = listen_in(netns, server_ip);
    let mut client = TcpStream::connect_timeout(&server, Duration::from_secs(5)).expect("connect");
    client.write_all(&[1; 1000]).expect("send before the drop");
    let dport = server.port().to_string();
    let rule = ["INPUT", "-p", "tcp", "--dport", &dport, "-j", "DROP"];
    let iptables = |action: &str| {
        let mut args = vec!["ip", "netns", "exec", netns, "iptables", action];
        args.extend_from_slice(&rule);
        run(&args);
    };
    iptables("-A");
    client.write_all(&[2; 1000]).expect("send into the drop");
    let expected = Retransmit {
        family: AF_INET,
        sport: client.local_addr().expect("client address").port(),
        dport: server.port(),
        saddr: ipv4(Ipv4Addr::new(10, 177, 0, 1)),
        daddr: ipv4(server_ip),
    };
    let ours = || {
        collector
            .records()
            .iter()
            .map(|r| parse(r))
            .filter(|r| r.sport == expected.sport && r.dport == expected.dport)
            .collect::<Vec<_>>()
    };
    eventually("a retransmit of the dropped segment", || !ours().is_empty());
    iptables("-D");
    drop(client);
    drop(readers);
    let batches = collector.finish();

    let records: Vec<Retransmit> = batches.iter().flat_map(Batch::iter).map(parse).collect();
    let ours: Vec<&Retransmit> = records
        .iter()
        .filter(|r| r.sport == expected.sport && r.dport == expected.dport)
        .collect();
    assert_ne!(ours.len(), 0, "retransmits of the connection");
    assert!(ours.iter().all(|r| **r == expected), "{ours:#?}");
    assert_eq!(counters[0].received(), records.len() as u64);
    assert_eq!(counters[0].dropped(DropReason::KernelLost), 0);
    println!("{} retransmit records of the connection", ours.len());
    drop(veth);
}
