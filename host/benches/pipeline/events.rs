//! Per-event cost of the example programs, measured as cloudflare's
//! `ebpf_exporter` publishes it: a tight loop of the syscall the program
//! hooks, with and without the program attached, in ns per call.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Instant;

use bpfhost::loader::{self, LoadRequest, LoadedObject};
use bpfhost::testing::artifact;

use crate::stats::Samples;

/// Per-call timings of one program.
#[derive(Debug, Default)]
pub struct EventCost {
    pub name: &'static str,
    pub workload: &'static str,
    pub off: Samples,
    pub on: Samples,
}

fn load(object: &str) -> LoadedObject {
    let elf = std::fs::read(artifact(object)).expect("read BPF object");
    loader::load(&LoadRequest {
        exporter: "bench",
        elf: &elf,
        globals: &BTreeMap::new(),
        programs: &[],
        maps: &BTreeMap::new(),
        attach_policy: bpfhost::manifest::AttachPolicy::AllOrNothing,
    })
    .unwrap_or_else(|e| panic!("loading {object}: {}", bpfhost::error_chain(&e)))
}

/// `write(2)` of one byte to /dev/null, `calls` times; time per call.
fn writes(calls: u32) -> std::time::Duration {
    let null = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("open /dev/null");
    let fd = null.as_raw_fd();
    let byte = [0u8; 1];
    let start = Instant::now();
    for _ in 0..calls {
        // SAFETY: writing one byte from a live buffer to an open fd.
        let n = unsafe { libc::write(fd, byte.as_ptr().cast(), 1) };
        assert_eq!(n, 1, "write to /dev/null");
    }
    start.elapsed() / calls
}

/// One 64-byte UDP datagram sent and received on loopback, `calls` times;
/// time per datagram.
fn datagrams(calls: u32) -> std::time::Duration {
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    tx.connect(rx.local_addr().expect("addr"))
        .expect("connect udp");
    let payload = [0u8; 64];
    let mut buf = [0u8; 128];
    let start = Instant::now();
    for _ in 0..calls {
        tx.send(&payload).expect("send");
        rx.recv(&mut buf).expect("recv");
    }
    start.elapsed() / calls
}

/// Measures both example programs over `rounds` interleaved rounds.
pub fn measure(rounds: usize, calls: u32) -> Vec<EventCost> {
    let mut write_cost = EventCost {
        name: "writes.bpf.c (tracepoint sys_enter_write)",
        workload: "write(2) 1 byte to /dev/null",
        ..EventCost::default()
    };
    let mut packet_cost = EventCost {
        name: "packets.bpf.c (socket filter, AF_PACKET)",
        workload: "64-byte UDP datagram over loopback (send+recv)",
        ..EventCost::default()
    };
    for cost in [&mut write_cost, &mut packet_cost] {
        let (object, run): (&str, fn(u32) -> std::time::Duration) =
            if cost.name.starts_with("writes") {
                ("bpf/writes.bpf.o", writes)
            } else {
                ("bpf/packets.bpf.o", datagrams)
            };
        run(calls / 10); // warm up
        for round in 0..rounds {
            let off_first = round % 2 == 0;
            if off_first {
                cost.off.push(run(calls));
            }
            let attached = load(object);
            run(calls / 10);
            cost.on.push(run(calls));
            drop(attached);
            if !off_first {
                cost.off.push(run(calls));
            }
        }
    }
    vec![write_cost, packet_cost]
}
