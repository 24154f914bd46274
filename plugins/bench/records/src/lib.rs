//! The benchmark's event handler: what a typical events decoder does per
//! record, for wasm-against-native figures (`cargo xtask bench`).
//!
//! Records of the source `records` are `struct { __u32 key; __u32 pad;
//! __u64 value; __u64 more[]; }`: 16 bytes, or longer with more values.
//! Each record adds the sum of its values to `records_value_total{key}`,
//! the key folded to 1,024 label sets and formatted with `itoa`, as the
//! SDK advises for a per-record label.

use bpfhost_plugin_sdk::state::CounterSet;
use bpfhost_plugin_sdk::{
    Config, Decoder, Events, FamilyId, Maps, Output, Reader, Result, Spec, itoa,
};

/// Label sets the keys fold into.
const KEYS: u32 = 1024;

/// The handler's state.
#[derive(Debug)]
pub struct Records {
    family: FamilyId,
    totals: CounterSet,
}

impl Decoder for Records {
    fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
        spec.events("records", 16);
        Ok(Self {
            family: spec.counter("records_value", "Sum of record values, by key", &["key"]),
            totals: CounterSet::new(),
        })
    }

    fn on_events(&mut self, events: &Events<'_>) -> Result<()> {
        for record in events.records() {
            let mut r = Reader::new(record?);
            let key = r.u32()? % KEYS;
            r.skip(4)?;
            let mut value = r.u64()?;
            while r.remaining() >= 8 {
                value = value.wrapping_add(r.u64()?);
            }
            let mut label = itoa::Buffer::new();
            self.totals
                .add(&[label.format(key)], value as f64, events.now());
        }
        Ok(())
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        self.totals.emit(out, self.family, maps.now());
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Records);

#[cfg(test)]
mod tests {
    use bpfhost_plugin_sdk::{MapSnapshot, SourceId};

    use super::*;

    #[test]
    fn sums_every_value_of_a_record_by_folded_key() {
        let record = |key: u32, values: &[u64]| {
            let mut r = key.to_le_bytes().to_vec();
            r.extend_from_slice(&[0; 4]);
            for v in values {
                r.extend_from_slice(&v.to_le_bytes());
            }
            r
        };
        let data = Events::encode(&[record(1, &[5]), record(1025, &[1, 2, 3]), record(2, &[7])]);
        let mut decoder = Records::init(&Config::new("{}"), &mut Spec::default()).unwrap();
        decoder
            .on_events(&Events::new(SourceId::new(0), 3, &data))
            .unwrap();
        let mut out = Output::default();
        let none: [MapSnapshot; 0] = [];
        decoder.decode(&Maps::new(&none), &mut out).unwrap();
        let mut got: Vec<(String, f64)> = out
            .samples()
            .into_iter()
            .map(|s| (s.labels[0].clone(), s.value))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, [("1".into(), 11.0), ("2".into(), 7.0)]);
    }
}
