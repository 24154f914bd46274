//! Decoder for `bpf/writes.bpf.c`: `write(2)` calls per process.
//!
//! The program counts into `writes_by_process`, an LRU hash keyed by
//! `struct { __u32 pid; char comm[16]; }` with a `__u64` count.

use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Reader, Result, Spec};

const MAP: &str = "writes_by_process";
const KEY_SIZE: usize = 4 + 16;

/// The decoder's state: the one family it emits.
#[derive(Debug)]
pub struct Writes {
    writes: FamilyId,
}

impl Decoder for Writes {
    fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
        let writes = spec.counter(
            "write_syscalls",
            "write(2) calls, by process",
            &["pid", "comm"],
        );
        spec.map(MAP);
        Ok(Self { writes })
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        let map = maps.get(MAP)?;
        map.expect_sizes(KEY_SIZE, 8)?;
        for entry in map.entries() {
            let mut key = Reader::key(entry.key);
            let pid = key.u32()?;
            let comm = key.c_str(16)?;
            out.sample(
                self.writes,
                &[&pid.to_string(), &comm],
                entry.sum_u64()? as f64,
            );
        }
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Writes);

#[cfg(test)]
mod tests {
    use bpfhost_plugin_sdk::{MapSnapshot, MapType};

    use super::*;

    #[test]
    fn decodes_pid_and_comm() {
        let mut key = 4242u32.to_le_bytes().to_vec();
        key.extend_from_slice(b"bash\0\0\0\0\0\0\0\0\0\0\0\0");
        let snapshot =
            MapSnapshot::new(MAP, MapType::LruHash, KEY_SIZE, 8).entry(&key, &17u64.to_le_bytes());
        let mut spec = Spec::default();
        let mut decoder = Writes::init(&Config::new("{}"), &mut spec).unwrap();
        let mut out = Output::default();
        decoder.decode(&Maps::new(&[snapshot]), &mut out).unwrap();
        assert_eq!(out.samples().len(), 1);
        assert_eq!(out.samples()[0].labels, ["4242", "bash"]);
        assert!((out.samples()[0].value - 17.0).abs() < f64::EPSILON);
    }

    #[test]
    fn wrong_key_size_is_a_bad_map() {
        let snapshot = MapSnapshot::new(MAP, MapType::Hash, 4, 8);
        let mut spec = Spec::default();
        let mut decoder = Writes::init(&Config::new("{}"), &mut spec).unwrap();
        let err = decoder
            .decode(&Maps::new(&[snapshot]), &mut Output::default())
            .unwrap_err();
        assert!(err.to_string().contains("expected 20-byte keys"), "{err}");
    }
}
