//! Decoder for `bpf/bench/flows.bpf.c`: packets per IPv4 flow.
//!
//! The map is a hash (or per-CPU hash) keyed by
//! `struct flow_key { __be32 saddr, daddr; __be16 sport, dport; __u8 proto; __u8 pad[3]; }`
//! with a `__u64` packet count. Each entry becomes one series labelled with
//! source, destination, destination port and protocol; per-CPU counts are
//! summed. This is the decoder the benchmark (`cargo xtask bench`) runs both
//! as a wasm component and natively: a struct key turned into several labels,
//! the shape of a large scrape.
//!
//! `decoder.config`: `{"map": "flows", "metric": "flow_packets"}` (both
//! optional), so several flow exporters can run side by side.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Result, Spec, bytes};
use serde::Deserialize;

/// Bytes of `struct flow_key`.
pub const KEY_SIZE: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(default)]
struct Settings {
    map: String,
    metric: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            map: "flows".into(),
            metric: "flow_packets".into(),
        }
    }
}

/// The decoder's state: its family, its map and reusable label buffers.
#[derive(Debug)]
pub struct Flows {
    packets: FamilyId,
    map: String,
    src: String,
    dst: String,
    port: String,
}

impl Decoder for Flows {
    fn init(config: &Config, spec: &mut Spec) -> Result<Self> {
        let settings: Settings = config.parse()?;
        let packets = spec.counter(
            &settings.metric,
            "Packets seen per IPv4 flow",
            &["src", "dst", "port", "protocol"],
        );
        spec.map(&settings.map);
        Ok(Self {
            packets,
            map: settings.map,
            src: String::new(),
            dst: String::new(),
            port: String::new(),
        })
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        let map = maps.get(&self.map)?;
        map.expect_sizes(KEY_SIZE, 8)?;
        out.reserve(map.len());
        for entry in map.entries() {
            let key = entry.key;
            self.src.clear();
            self.dst.clear();
            self.port.clear();
            let _ = write!(self.src, "{}", Ipv4Addr::from(bytes::u32_be(key, 0)?));
            let _ = write!(self.dst, "{}", Ipv4Addr::from(bytes::u32_be(key, 4)?));
            let _ = write!(self.port, "{}", bytes::u16_be(key, 10)?);
            let protocol = match bytes::u8_at(key, 12)? {
                6 => "tcp",
                17 => "udp",
                1 => "icmp",
                _ => "other",
            };
            out.sample(
                self.packets,
                &[&self.src, &self.dst, &self.port, protocol],
                entry.sum_u64()? as f64,
            );
        }
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Flows);

/// The key bytes of one flow, as the BPF program writes them.
pub fn key(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, proto: u8) -> [u8; KEY_SIZE] {
    let mut k = [0u8; KEY_SIZE];
    k[0..4].copy_from_slice(&src.octets());
    k[4..8].copy_from_slice(&dst.octets());
    k[8..10].copy_from_slice(&sport.to_be_bytes());
    k[10..12].copy_from_slice(&dport.to_be_bytes());
    k[12] = proto;
    k
}

#[cfg(test)]
mod tests {
    use bpfhost_plugin_sdk::{MapSnapshot, MapType};

    use super::*;

    #[test]
    fn labels_a_flow_and_sums_cpus() {
        let k = key(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(192, 168, 1, 2),
            40000,
            443,
            6,
        );
        let mut values = 3u64.to_le_bytes().to_vec();
        values.extend_from_slice(&4u64.to_le_bytes());
        let snapshot = MapSnapshot {
            name: "flows".into(),
            map_type: MapType::PerCpuHash,
            key_size: KEY_SIZE,
            value_size: 8,
            entries: 1,
            cpus: 2,
            keys: k.to_vec(),
            values,
        };
        let mut spec = Spec::default();
        let mut decoder =
            Flows::init(&Config::new(r#"{"metric": "x_packets"}"#), &mut spec).expect("init");
        let mut out = Output::default();
        decoder
            .decode(&Maps::new(&[snapshot]), &mut out)
            .expect("decode");
        assert_eq!(spec.families()[0].name(), "x_packets");
        assert_eq!(
            out.samples()[0].labels,
            ["10.0.0.1", "192.168.1.2", "443", "tcp"]
        );
        assert!((out.samples()[0].value - 7.0).abs() < f64::EPSILON);
    }
}
