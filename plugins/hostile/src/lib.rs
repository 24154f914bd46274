//! A decoder that misbehaves on purpose, for the sandbox tests.
//!
//! `decoder.config` picks the fault: `{"fault": "loop"}` and so on (see
//! [`Fault`]); `"phase": "init"` triggers it in `init` instead of `decode`.
//! With no fault it behaves: a gauge `hostile_ok{kind="fine"}` of 1, and
//! `hostile_ok{kind="calls"}` counting its decode calls (so tests can tell
//! how often the agent ran it). `{"fault": "slow", "spin": N}` spins N
//! iterations in every decode, then behaves.

use bpfhost_plugin_sdk::{Config, Decoder, Error, FamilyId, Maps, Output, Result, Spec};
use serde::Deserialize;

/// The misbehaviours on offer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    #[default]
    None,
    /// Never returns.
    Loop,
    /// Allocates until the memory cap stops it.
    MemoryBomb,
    /// Recurses until the stack overflows.
    Recursion,
    /// A Rust panic (an `unreachable` trap).
    Panic,
    /// Returns an error of its own.
    Error,
    /// A million rows.
    HugeOutput,
    /// Label values of 1 MiB.
    HugeLabels,
    /// Metric and label names Prometheus rejects.
    BadNames,
    /// Labels the agent reserves (`le`, `node`, `__name__`).
    ReservedLabels,
    /// The same series twice.
    Duplicates,
    /// NaN and negative counters.
    NanCounters,
    /// Buckets that are not cumulative and a `+Inf` that differs from count.
    BrokenHistogram,
    /// Spins `spin` iterations, then behaves.
    Slow,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Settings {
    fault: Fault,
    phase: Phase,
    /// Family name prefix, so two hostile exporters can run side by side.
    prefix: Option<String>,
    /// Iterations the `slow` fault spins.
    spin: u64,
}

#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Phase {
    Init,
    #[default]
    Decode,
}

/// The decoder's state.
#[derive(Debug)]
pub struct Hostile {
    fault: Fault,
    spin: u64,
    calls: u64,
    ok: FamilyId,
    counter: FamilyId,
    histogram: FamilyId,
}

impl Decoder for Hostile {
    fn init(config: &Config, spec: &mut Spec) -> Result<Self> {
        let settings: Settings = config.parse()?;
        let prefix = settings.prefix.unwrap_or_else(|| "hostile".into());
        let (name, label) = if settings.fault == Fault::BadNames {
            ("0-not a metric".to_owned(), "bad-label")
        } else if settings.fault == Fault::ReservedLabels {
            (format!("{prefix}_reserved"), "le")
        } else {
            (format!("{prefix}_ok"), "kind")
        };
        let ok = spec.gauge(&name, "Hostile plugin's well-behaved gauge.", &[label]);
        let counter = spec.counter(
            &format!("{prefix}_events"),
            "Hostile plugin's counter.",
            &["n"],
        );
        let histogram = spec.histogram(
            &format!("{prefix}_latency_seconds"),
            "Hostile histogram.",
            &[],
            &[0.1, 1.0],
        );
        let decoder = Self {
            fault: settings.fault,
            spin: settings.spin,
            calls: 0,
            ok,
            counter,
            histogram,
        };
        if settings.phase == Phase::Init {
            decoder.misbehave(&mut Output::default())?;
        }
        Ok(decoder)
    }

    fn decode(&mut self, _maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        self.misbehave(out)?;
        self.calls += 1;
        out.sample(self.ok, &["fine"], 1.0);
        out.sample(self.ok, &["calls"], self.calls as f64);
        Ok(())
    }
}

impl Hostile {
    fn misbehave(&self, out: &mut Output) -> Result<()> {
        match self.fault {
            Fault::None | Fault::BadNames | Fault::ReservedLabels => {}
            Fault::Loop => spin(),
            Fault::Slow => {
                let mut x = 0u64;
                for _ in 0..self.spin {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            Fault::MemoryBomb => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Fault::Recursion => {
                std::hint::black_box(recurse(std::hint::black_box(1)));
            }
            Fault::Panic => panic!("hostile plugin panics on purpose"),
            Fault::Error => return Err(Error::Failed("hostile plugin fails on purpose".into())),
            Fault::HugeOutput => {
                for i in 0..1_000_000u32 {
                    out.sample(self.counter, &[&i.to_string()], 1.0);
                }
            }
            Fault::HugeLabels => {
                let big = "x".repeat(1 << 20);
                for i in 0..4 {
                    out.sample(self.counter, &[&format!("{i}{big}")], 1.0);
                }
            }
            Fault::Duplicates => {
                out.sample(self.counter, &["same"], 1.0);
                out.sample(self.counter, &["same"], 2.0);
            }
            Fault::NanCounters => {
                out.sample(self.counter, &["nan"], f64::NAN);
                out.sample(self.counter, &["negative"], -5.0);
            }
            Fault::BrokenHistogram => {
                out.histogram(self.histogram, &[], vec![5, 3], 1.0, 5);
                out.histogram(self.histogram, &[], vec![1, 2], 1.0, 7);
            }
        }
        Ok(())
    }
}

fn spin() -> ! {
    let mut x = 0u64;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

#[expect(unconditional_recursion, reason = "the stack overflow is the point")]
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    recurse(depth + 1) + frame[0]
}

bpfhost_plugin_sdk::export_decoder!(Hostile);
