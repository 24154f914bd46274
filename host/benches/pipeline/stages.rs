//! One benchmark case (a map type at a size): the pipeline's stages timed
//! one by one, and the whole scrape over HTTP, for both decoders.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use bpfhost::agent::{Agent, Exporter};
use bpfhost::decoder::wasm::{Limits, Runtime, WasmDecoder};
use bpfhost::decoder::{Collection, Decoder};
use bpfhost::exposition::{Encoder, Format};
use bpfhost::maps::{KernelMap, MapSnapshot, MapSource, ReadMethod};
use bpfhost_plugin_flows::Flows;

use crate::fixture::{self, Kind};
use crate::http::{Client, Servers};
use crate::native::Native;
use crate::stats::{Samples, time_per};

/// The decoder configuration every case uses.
pub const CONFIG: &str = r#"{"map": "flows"}"#;

/// Timings of one case, one sample per round.
#[derive(Debug, Default)]
pub struct Results {
    pub dump_batch: Samples,
    pub dump_iterate: Samples,
    pub decode_wasm: Samples,
    pub decode_native: Samples,
    pub encode: Samples,
    pub scrape_wasm: Samples,
    pub scrape_native: Samples,
}

/// A filled map with everything that reads, decodes and serves it.
pub struct Case {
    pub kind: Kind,
    pub entries: u32,
    _map: OwnedFd,
    batch: KernelMap,
    iterate: KernelMap,
    snapshot: Vec<MapSnapshot>,
    iterated: Vec<MapSnapshot>,
    wasm: WasmDecoder,
    native: Native<Flows>,
    body: Vec<u8>,
    http_wasm: Client,
    http_native: Client,
    pub results: Results,
    /// Why the wasm decoder cannot decode this case, if it cannot.
    pub wasm_error: Option<String>,
}

/// Runs a stage often enough to total ~100k entries per sample.
fn reps(entries: u32) -> u32 {
    (100_000 / entries.max(1)).max(1)
}

fn source(fd: &OwnedFd, batch: bool) -> KernelMap {
    let fd = fd.try_clone().expect("dup map fd");
    let mut map = KernelMap::new("flows", fd).expect("kernel map");
    if !batch {
        map.disable_batch();
    }
    map
}

fn snapshot() -> Vec<MapSnapshot> {
    vec![MapSnapshot {
        name: "flows".into(),
        ..MapSnapshot::default()
    }]
}

impl Case {
    /// Creates and fills the map, starts both decoders and two agents (one
    /// per decoder) served on 127.0.0.1.
    pub fn new(
        kind: Kind,
        entries: u32,
        runtime: &Runtime,
        wasm: &[u8],
        limits: Limits,
        servers: &Servers,
    ) -> Self {
        let map = fixture::filled(kind, entries);
        let load = || WasmDecoder::load(runtime, wasm, CONFIG, limits).expect("wasm decoder");
        let agent = |decoder: Box<dyn Decoder>| {
            let agent = Agent::new("bench");
            let sources: Vec<Box<dyn MapSource>> = vec![Box::new(source(&map, true))];
            agent.insert(Exporter::new("flows", None, sources, decoder, 0));
            servers.serve(Arc::new(agent))
        };
        let http_wasm = Client::new(agent(Box::new(load())));
        let http_native = Client::new(agent(Box::new(Native::<Flows>::new(CONFIG, limits.output))));
        Self {
            kind,
            entries,
            batch: source(&map, true),
            iterate: source(&map, false),
            _map: map,
            snapshot: snapshot(),
            iterated: snapshot(),
            wasm: load(),
            native: Native::new(CONFIG, limits.output),
            body: Vec::new(),
            http_wasm,
            http_native,
            results: Results::default(),
            wasm_error: None,
        }
    }

    /// Checks that both read methods and both decoders agree, and that the
    /// HTTP answers carry every series. Panics otherwise.
    pub fn verify(&mut self) {
        let method = self.batch.read(&mut self.snapshot[0]).expect("batch read");
        assert_eq!(method, ReadMethod::Batch, "batch lookup must be supported");
        self.iterate
            .read(&mut self.iterated[0])
            .expect("iterating read");
        assert_eq!(self.snapshot[0].entries, self.entries, "batch read all");
        assert_eq!(self.iterated[0].entries, self.entries, "iteration read all");
        if self.entries <= 100_000 {
            assert_eq!(pairs(&self.snapshot[0]), pairs(&self.iterated[0]));
        }
        let native = self
            .native
            .decode(&mut self.snapshot)
            .expect("native decode");
        let series: usize = native.families.iter().map(|f| f.series.len()).sum();
        assert_eq!(series, self.entries as usize, "one series per entry");
        assert!(native.dropped.iter().all(|&d| d == 0), "nothing dropped");
        self.http_native.get("/metrics");
        let served = exported(&self.http_native.body);
        assert_eq!(
            served.iter().filter(|l| !l.starts_with(b"#")).count(),
            self.entries as usize,
            "every entry is served"
        );
        match self.wasm.decode(&mut self.snapshot) {
            Ok(wasm) => assert!(wasm == native, "wasm and native decoders disagree"),
            // The agent cannot take this much from a plugin today (see
            // BENCHMARKS.md): report it instead of a time.
            Err(e) => {
                eprintln!(
                    "{} {}: wasm decode fails: {e}",
                    self.entries,
                    self.kind.name()
                );
                self.wasm_error = Some(e.to_string());
                return;
            }
        }
        self.http_wasm.get("/metrics");
        assert!(
            exported(&self.http_wasm.body) == served,
            "both agents serve the same series"
        );
    }

    /// One sample of every measurement; A/B pairs alternate their order by
    /// round so neither always runs on a warmer cache.
    pub fn round(&mut self, round: usize) {
        let reps = reps(self.entries);
        // Even rounds run A first, odd rounds B first.
        let order = if round.is_multiple_of(2) {
            [true, false]
        } else {
            [false, true]
        };
        for is_a in order {
            if is_a {
                let t = time_per(reps, || {
                    self.batch.read(&mut self.snapshot[0]).expect("batch read");
                });
                self.results.dump_batch.push(t);
            } else {
                let t = time_per(reps, || {
                    self.iterate.read(&mut self.iterated[0]).expect("iteration");
                });
                self.results.dump_iterate.push(t);
            }
        }
        let mut last = None;
        for is_a in order {
            if !is_a {
                let t = time_per(reps, || {
                    last = Some(
                        self.native
                            .decode(&mut self.snapshot)
                            .expect("native decode"),
                    );
                });
                self.results.decode_native.push(t);
            } else if self.wasm_error.is_none() {
                let t = time_per(reps, || {
                    last = Some(self.wasm.decode(&mut self.snapshot).expect("wasm decode"));
                });
                self.results.decode_wasm.push(t);
            }
        }
        let collection = last.expect("decoded");
        let t = time_per(reps, || encode(&collection, &mut self.body));
        self.results.encode.push(t);
        drop(collection);
        for is_a in order {
            if !is_a {
                let t = time_per(reps, || {
                    self.http_native.get("/metrics");
                });
                self.results.scrape_native.push(t);
            } else if self.wasm_error.is_none() {
                let t = time_per(reps, || {
                    self.http_wasm.get("/metrics");
                });
                self.results.scrape_wasm.push(t);
            }
        }
    }

    pub fn read_batch_once(&mut self) {
        self.batch.read(&mut self.snapshot[0]).expect("batch read");
    }

    pub fn decode_wasm_once(&mut self) -> Collection {
        self.wasm.decode(&mut self.snapshot).expect("wasm decode")
    }

    pub fn decode_native_once(&mut self) -> Collection {
        self.native
            .decode(&mut self.snapshot)
            .expect("native decode")
    }

    pub fn encode_once(&mut self, collection: &Collection) {
        encode(collection, &mut self.body);
    }

    pub fn scrape_wasm_once(&mut self) {
        self.http_wasm.get("/metrics");
    }
}

/// Encodes into a reused body, as text 0.0.4 with the `node` label.
fn encode(collection: &Collection, body: &mut Vec<u8>) {
    body.clear();
    let node = [("node", "bench")];
    let mut encoder = Encoder::new(body, Format::Text, &node);
    for family in &collection.families {
        encoder.family(family);
    }
    encoder.finish();
}

/// The exposition's lines but the agent's own metrics (whose values vary).
fn exported(body: &[u8]) -> Vec<&[u8]> {
    body.split(|&b| b == b'\n')
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with(b"bpfhost_")
                && !l.starts_with(b"# HELP bpfhost_")
                && !l.starts_with(b"# TYPE bpfhost_")
        })
        .collect()
}

/// The snapshot's (key, value) pairs, sorted.
fn pairs(s: &MapSnapshot) -> Vec<(&[u8], &[u8])> {
    let key = s.key_size as usize;
    let stride = s.values.len() / (s.entries as usize).max(1);
    let mut v: Vec<_> = s
        .keys
        .chunks_exact(key)
        .zip(s.values.chunks_exact(stride))
        .collect();
    v.sort_unstable();
    v
}
