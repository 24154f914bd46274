//! Decoder for `bpf/tcp_connects.bpf.c`: outbound TCP connections by
//! address family, destination address and port.
//!
//! Key: `struct { __u16 family; __be16 dport; __u8 daddr[16]; }`, value a
//! `__u64` count. Every distinct destination is a series: keep this to
//! hosts that talk to a bounded set of peers.

use bpfhost_plugin_sdk::{Config, Decoder, Error, FamilyId, Maps, Output, Reader, Result, Spec};

const MAP: &str = "tcp_connects";
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// The one family it emits.
#[derive(Debug)]
pub struct TcpConnects {
    connects: FamilyId,
}

impl Decoder for TcpConnects {
    fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
        let connects = spec.counter(
            "tcp_connects",
            "Outbound TCP connections established, by destination",
            &["family", "daddr", "dport"],
        );
        spec.map(MAP);
        Ok(Self { connects })
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        let map = maps.get(MAP)?;
        map.expect_sizes(20, 8)?;
        for entry in map.entries() {
            let mut key = Reader::key(entry.key);
            let family = key.u16()?;
            let port = key.u16_be()?;
            let (family, addr) = match family {
                AF_INET => ("ipv4", key.ipv4()?.to_string()),
                AF_INET6 => ("ipv6", key.ipv6()?.to_string()),
                other => return Err(Error::BadMap(format!("unknown address family {other}"))),
            };
            out.sample(
                self.connects,
                &[family, &addr, &port.to_string()],
                entry.sum_u64()? as f64,
            );
        }
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(TcpConnects);

#[cfg(test)]
mod tests {
    use bpfhost_plugin_sdk::{MapSnapshot, MapType};

    use super::*;

    #[test]
    fn decodes_both_families_with_the_port_in_network_order() {
        let mut v4 = vec![2, 0, 0x1f, 0x90, 127, 0, 0, 1];
        v4.resize(20, 0);
        let mut v6 = vec![10, 0, 0, 80];
        v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        let snapshot = MapSnapshot::new(MAP, MapType::LruHash, 20, 8)
            .entry(&v4, &3u64.to_le_bytes())
            .entry(&v6, &1u64.to_le_bytes());
        let mut spec = Spec::default();
        let mut decoder =
            TcpConnects::init(&bpfhost_plugin_sdk::Config::new("{}"), &mut spec).expect("init");
        let mut out = Output::default();
        decoder
            .decode(&Maps::new(&[snapshot]), &mut out)
            .expect("decode");
        let rows: Vec<(Vec<String>, f64)> = out
            .samples()
            .iter()
            .map(|s| (s.labels.clone(), s.value))
            .collect();
        assert_eq!(
            rows,
            [
                (vec!["ipv4".into(), "127.0.0.1".into(), "8080".into()], 3.0),
                (vec!["ipv6".into(), "::1".into(), "80".into()], 1.0),
            ]
        );
    }
}
