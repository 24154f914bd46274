//! Decoder for `bpf/tcp_retransmits.bpf.c`: TCP retransmissions by
//! connection, from events.
//!
//! The program outputs one record per retransmitted segment to the perf
//! event array `retransmits`: `struct { __u16 family; __u16 sport; __u16
//! dport; __u8 saddr[16]; __u8 daddr[16]; }` (ports in host order, IPv4
//! addresses in the first 4 bytes). Each record adds one to
//! `tcp_retransmits_total{saddr,sport,daddr,dport}`; a connection not seen
//! for `expireAfterSeconds` (config, default 600, 0 for never) leaves the
//! output, so ephemeral ports do not pile up.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bpfhost_plugin_sdk::state::CounterSet;
use bpfhost_plugin_sdk::{
    Config, Decoder, Error, Events, FamilyId, Maps, Output, Reader, Result, Spec,
};

/// `struct retransmit_event` in `bpf/tcp_retransmits.bpf.c`.
const RECORD_SIZE: usize = 3 * 2 + 2 * 16;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Settings {
    #[serde(default = "ten_minutes")]
    expire_after_seconds: u64,
}

fn ten_minutes() -> u64 {
    600
}

/// The decoder's state: the family and the counts so far.
#[derive(Debug)]
pub struct Retransmits {
    retransmits: FamilyId,
    counts: CounterSet,
}

/// An address of `family` from its 16-byte field.
fn address(family: u16, bytes: [u8; 16]) -> Result<String> {
    match family {
        AF_INET => Ok(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()),
        AF_INET6 => Ok(Ipv6Addr::from(bytes).to_string()),
        other => Err(Error::BadMap(format!(
            "retransmit record of address family {other}"
        ))),
    }
}

impl Decoder for Retransmits {
    fn init(config: &Config, spec: &mut Spec) -> Result<Self> {
        let settings: Settings = config.parse()?;
        let mut counts = CounterSet::new();
        if settings.expire_after_seconds > 0 {
            counts = counts.expire_after(Duration::from_secs(settings.expire_after_seconds));
        }
        spec.events("retransmits", RECORD_SIZE);
        Ok(Self {
            retransmits: spec.counter(
                "tcp_retransmits",
                "TCP segments retransmitted, by connection",
                &["saddr", "sport", "daddr", "dport"],
            ),
            counts,
        })
    }

    fn on_events(&mut self, events: &Events<'_>) -> Result<()> {
        for record in events.records() {
            let mut r = Reader::new(record?);
            let family = r.u16()?;
            let sport = r.u16()?.to_string();
            let dport = r.u16()?.to_string();
            let saddr = address(family, r.byte_array()?)?;
            let daddr = address(family, r.byte_array()?)?;
            self.counts
                .inc(&[&saddr, &sport, &daddr, &dport], events.now());
        }
        Ok(())
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        self.counts.emit(out, self.retransmits, maps.now());
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Retransmits);

#[cfg(test)]
mod tests {
    use bpfhost_plugin_sdk::{MapSnapshot, SourceId};

    use super::*;

    fn record(family: u16, sport: u16, dport: u16, saddr: &[u8], daddr: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        for v in [family, sport, dport] {
            r.extend_from_slice(&v.to_le_bytes());
        }
        for a in [saddr, daddr] {
            let mut field = [0u8; 16];
            field[..a.len()].copy_from_slice(a);
            r.extend_from_slice(&field);
        }
        // A perf event array record's padding.
        r.extend_from_slice(&[0; 2]);
        r
    }

    #[test]
    fn counts_retransmits_by_connection_for_both_families() {
        let mut spec = Spec::default();
        let mut decoder = Retransmits::init(&Config::new("{}"), &mut spec).unwrap();
        let v6 = Ipv6Addr::LOCALHOST.octets();
        let data = Events::encode(&[
            record(AF_INET, 40000, 8080, &[10, 0, 0, 1], &[10, 0, 0, 2]),
            record(AF_INET, 40000, 8080, &[10, 0, 0, 1], &[10, 0, 0, 2]),
            record(AF_INET6, 5000, 443, &v6, &v6),
        ]);
        decoder
            .on_events(&Events::new(SourceId::new(0), 3, &data))
            .unwrap();
        let mut out = Output::default();
        let none: [MapSnapshot; 0] = [];
        decoder.decode(&Maps::new(&none), &mut out).unwrap();
        let mut got: Vec<(Vec<String>, f64)> = out
            .samples()
            .into_iter()
            .map(|s| (s.labels, s.value))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let labels = |v: [&str; 4]| v.map(str::to_owned).to_vec();
        assert_eq!(
            got,
            [
                (labels(["10.0.0.1", "40000", "10.0.0.2", "8080"]), 2.0),
                (labels(["::1", "5000", "::1", "443"]), 1.0),
            ]
        );
    }

    #[test]
    fn an_unknown_family_is_an_error() {
        let mut decoder = Retransmits::init(&Config::new("{}"), &mut Spec::default()).unwrap();
        let data = Events::encode(&[record(1, 1, 1, &[], &[])]);
        let err = decoder
            .on_events(&Events::new(SourceId::new(0), 1, &data))
            .unwrap_err();
        assert!(err.to_string().contains("address family 1"), "{err}");
    }
}
