//! A network namespace joined to the host's by a veth pair, for tests that
//! need real packets (XDP, TC, TCP retransmits), and a TCP listener inside
//! it.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::mpsc::channel;
use std::time::Duration;

/// Runs a command and panics with its output if it fails.
pub fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn command");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A veth pair: `name` in the host namespace (10.X.0.1/24), its peer in
/// namespace `name-ns` (10.X.0.2/24). Dropping it deletes both.
#[derive(Debug)]
pub struct Veth {
    pub name: String,
    pub peer_ip: String,
    netns: String,
}

impl Veth {
    /// The peer's namespace, `name-ns`.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    pub fn create(name: &str, subnet: u8) -> Self {
        let netns = format!("{name}-ns");
        let peer = format!("{name}p");
        // Leftovers of an interrupted run.
        let _ = Command::new("ip").args(["netns", "del", &netns]).output();
        let _ = Command::new("ip").args(["link", "del", name]).output();
        run(&["ip", "netns", "add", &netns]);
        let veth = Self {
            name: name.to_owned(),
            peer_ip: format!("10.{subnet}.0.2"),
            netns: netns.clone(),
        };
        run(&[
            "ip", "link", "add", name, "type", "veth", "peer", "name", &peer, "netns", &netns,
        ]);
        run(&[
            "ip",
            "addr",
            "add",
            &format!("10.{subnet}.0.1/24"),
            "dev",
            name,
        ]);
        run(&["ip", "link", "set", name, "up"]);
        let in_ns = |args: &[&str]| {
            let mut full = vec!["ip", "netns", "exec", &netns];
            full.extend_from_slice(args);
            run(&full);
        };
        in_ns(&[
            "ip",
            "addr",
            "add",
            &format!("10.{subnet}.0.2/24"),
            "dev",
            &peer,
        ]);
        in_ns(&["ip", "link", "set", &peer, "up"]);
        in_ns(&["ip", "link", "set", "lo", "up"]);
        veth
    }

    /// Sends a UDP datagram to the peer (the peer answers ARP, so traffic
    /// flows both ways).
    pub fn send_traffic(&self) {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind udp");
        let _ = socket.send_to(b"bpfhost", format!("{}:9", self.peer_ip));
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.name])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}

/// A listener in `netns` (a thread moved into it) that reads what it is
/// sent until the sender closes; its address.
pub fn listen_in(netns: &str, ip: Ipv4Addr) -> SocketAddr {
    let path = format!("/var/run/netns/{netns}");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&path).expect("open the namespace");
        // SAFETY: setns on a valid namespace fd moves only this thread.
        let moved = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(moved, 0, "setns: {}", std::io::Error::last_os_error());
        let listener = TcpListener::bind((ip, 0)).expect("listen in the namespace");
        tx.send(listener.local_addr().expect("listener address"))
            .expect("hand the address over");
        let (mut stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("read timeout");
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    });
    rx.recv().expect("the listener's address")
}
