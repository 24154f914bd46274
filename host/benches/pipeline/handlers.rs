//! Event handlers: the same handler (`plugins/bench/records`) as a wasm
//! component and compiled natively, fed the same batches of 4,096 records
//! of 16 and 64 bytes, as the agent's pump feeds them
//! (`Decoder::on_events`). The issue that added events asks wasm to stay
//! within 1.5x of native CPU per event, and at least 1M events/s for
//! 16-byte records. One thread, so time per event is CPU per event.

use std::time::{Duration, Instant};

use bpfhost::decoder::wasm::{Limits, Runtime, WasmDecoder};
use bpfhost::decoder::{Decoder, EventBatch};
use bpfhost::testing::artifact;
use bpfhost_plugin_records::Records;

use crate::native::Native;
use crate::stats::{Samples, Table, duration};

/// Records a batch holds: the agent's batch limit.
const BATCH: u32 = 4096;

/// What one record size measured: time per event, per round.
#[derive(Debug)]
pub struct Run {
    pub record_size: usize,
    pub wasm: Samples,
    pub native: Samples,
}

/// A batch of `BATCH` records of `size` bytes, in the host's layout.
fn batch(size: usize) -> EventBatch {
    let mut data = Vec::new();
    for i in 0..BATCH {
        data.extend_from_slice(&u32::try_from(size).expect("small").to_le_bytes());
        let mut record = i.wrapping_mul(2_654_435_761).to_le_bytes().to_vec();
        record.resize(size, 0);
        record[8..16].copy_from_slice(&u64::from(i).to_le_bytes());
        data.extend_from_slice(&record);
    }
    EventBatch {
        source: 0,
        records: BATCH,
        data,
    }
}

/// Time per event of `batches` batches through `decoder`.
fn per_event(decoder: &mut dyn Decoder, batch: &mut EventBatch, batches: u32) -> Duration {
    let started = Instant::now();
    for _ in 0..batches {
        decoder.on_events(batch).expect("handled");
    }
    started.elapsed() / (batches * BATCH)
}

/// Alternates wasm and native, `rounds` rounds of `batches` batches each.
pub fn measure(runtime: &Runtime, limits: &Limits, rounds: usize, batches: u32) -> Vec<Run> {
    let wasm = std::fs::read(artifact("plugins/records.wasm")).expect("read records.wasm");
    [16, 64]
        .into_iter()
        .map(|record_size| {
            let mut component =
                WasmDecoder::load(runtime, &wasm, "{}", *limits).expect("load records.wasm");
            let mut native = Native::<Records>::new("{}", limits.output);
            let mut batch = batch(record_size);
            let mut run = Run {
                record_size,
                wasm: Samples::default(),
                native: Samples::default(),
            };
            // Warm both: the label sets exist from here on, as they would
            // in a running agent.
            per_event(&mut component, &mut batch, 1);
            per_event(&mut native, &mut batch, 1);
            for _ in 0..rounds {
                run.wasm
                    .push(per_event(&mut component, &mut batch, batches));
                run.native.push(per_event(&mut native, &mut batch, batches));
            }
            // Both handled the same records: the same sums by key.
            let sums = |d: &mut dyn Decoder| {
                let c = d.decode(&mut []).expect("decode");
                c.families.iter().map(|f| f.series.len()).sum::<usize>()
            };
            assert_eq!(sums(&mut component), sums(&mut native));
            run
        })
        .collect()
}

pub fn print(runs: &[Run]) {
    println!(
        "\nEvent handlers: wasm component against the same handler compiled natively \
         (batches of {BATCH} records, time per event = CPU per event, one thread):"
    );
    let mut t = Table::new(&[
        "record",
        "wasm min",
        "wasm median",
        "native min",
        "native median",
        "wasm/native",
        "wasm events/s",
    ]);
    for r in runs {
        let rate = 1.0 / r.wasm.median().as_secs_f64();
        t.row(vec![
            format!("{} B", r.record_size),
            duration(r.wasm.min()),
            duration(r.wasm.median()),
            duration(r.native.min()),
            duration(r.native.median()),
            format!(
                "{:.2}x",
                r.wasm.median().as_secs_f64() / r.native.median().as_secs_f64()
            ),
            format!("{:.2}M", rate / 1e6),
        ]);
    }
    t.print();
}
