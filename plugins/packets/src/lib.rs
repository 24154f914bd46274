//! Decoder for `bpf/packets.bpf.c`: packets per IP protocol, with IANA names.
//!
//! The program counts into `packets_by_proto`, a per-CPU array indexed by the
//! IP protocol number (IPv4 `protocol`, IPv6 `next header`). This decoder sums
//! the CPUs and names the protocol; numbers without a well-known name are
//! exposed as the number itself.

use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Reader, Result, Spec};

const MAP: &str = "packets_by_proto";

/// The decoder's state: the one family it emits.
#[derive(Debug)]
pub struct Packets {
    packets: FamilyId,
}

impl Decoder for Packets {
    fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
        let packets = spec.counter(
            "ip_packets",
            "IP packets seen on the host's interfaces, by IP protocol",
            &["protocol"],
        );
        spec.map(MAP);
        Ok(Self { packets })
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        let map = maps.get(MAP)?;
        map.expect_sizes(4, 8)?;
        for entry in map.entries() {
            let count = entry.sum_u64()?;
            if count == 0 {
                continue;
            }
            let number = Reader::key(entry.key).u32()?;
            match protocol_name(number) {
                Some(name) => out.sample(self.packets, &[name], count as f64),
                None => out.sample(self.packets, &[&number.to_string()], count as f64),
            }
        }
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Packets);

/// The IANA keyword of an IP protocol number, for the protocols seen in
/// practice.
pub fn protocol_name(number: u32) -> Option<&'static str> {
    Some(match number {
        0 => "HOPOPT",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPv4",
        6 => "TCP",
        8 => "EGP",
        17 => "UDP",
        27 => "RDP",
        33 => "DCCP",
        41 => "IPv6",
        43 => "IPv6-Route",
        44 => "IPv6-Frag",
        46 => "RSVP",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "IPv6-ICMP",
        59 => "IPv6-NoNxt",
        60 => "IPv6-Opts",
        88 => "EIGRP",
        89 => "OSPFIGP",
        94 => "IPIP",
        103 => "PIM",
        112 => "VRRP",
        115 => "L2TP",
        132 => "SCTP",
        136 => "UDPLite",
        137 => "MPLS-in-IP",
        143 => "Ethernet",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use bpfhost_plugin_sdk::{MapSnapshot, MapType};

    use super::*;

    fn per_cpu_array(counts: &[(u32, [u64; 2])]) -> MapSnapshot {
        let map = MapSnapshot::new(MAP, MapType::PerCpuArray, 4, 8).cpus(2);
        counts.iter().fold(map, |map, (key, [cpu0, cpu1])| {
            map.entry_per_cpu(
                &key.to_le_bytes(),
                &[&cpu0.to_le_bytes(), &cpu1.to_le_bytes()],
            )
        })
    }

    #[test]
    fn sums_cpus_names_protocols_and_skips_zero() {
        let mut spec = Spec::default();
        let mut decoder = Packets::init(&Config::new("{}"), &mut spec).unwrap();
        let snapshot = per_cpu_array(&[(0, [0, 0]), (6, [3, 4]), (17, [1, 0]), (253, [0, 2])]);
        let mut out = Output::default();
        decoder.decode(&Maps::new(&[snapshot]), &mut out).unwrap();
        let rows: Vec<(String, f64)> = out
            .samples()
            .iter()
            .map(|s| (s.labels[0].clone(), s.value))
            .collect();
        assert_eq!(
            rows,
            [
                ("TCP".into(), 7.0),
                ("UDP".into(), 1.0),
                ("253".into(), 2.0)
            ]
        );
        assert_eq!(spec.families()[0].name(), "ip_packets");
    }
}
