//! Running a decoder offline on a recorded map dump (`bpfhost plugin test`):
//! the same sandbox, limits and output checks as the agent, on snapshots
//! read from a file instead of the kernel.

use std::path::{Path, PathBuf};

use crate::decoder::validate::DropReason;
use crate::decoder::wasm::{self, Limits, Runtime, WasmDecoder};
use crate::decoder::{DecodeError, Decoder as _};
use crate::exposition::{Encoder, Format};
use crate::maps::MapSnapshot;
use crate::maps::dump::{Dump, DumpError};

/// Why an offline run failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a map dump", path.display())]
    ParseDump {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: not a YAML or JSON decoder config", path.display())]
    ParseConfig {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
    #[error(transparent)]
    Dump(#[from] DumpError),
    #[error("cannot create the wasm engine")]
    Engine(#[source] wasmtime::Error),
    #[error(transparent)]
    Load(#[from] wasm::PluginLoadError),
    #[error("the decoder asks for map {map}, which the dump does not have (it has: {available})")]
    MissingMap { map: String, available: String },
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// What one offline decode produced.
#[derive(Debug)]
pub struct Rendered {
    /// The exposition, as the agent would serve it (without `node`).
    pub exposition: Vec<u8>,
    /// Series dropped by the output checks, by reason (non-zero only).
    pub dropped: Vec<(&'static str, u64)>,
}

/// Reads the decoder, the dump and the optional config from files, then
/// runs the decoder once.
pub fn run_files(
    decoder: &Path,
    dump: &Path,
    config: Option<&Path>,
    format: Format,
) -> Result<Rendered, OfflineError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| OfflineError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let wasm = read(decoder)?;
    let dump: Dump =
        serde_json::from_slice(&read(dump)?).map_err(|source| OfflineError::ParseDump {
            path: dump.to_path_buf(),
            source,
        })?;
    let config_json = match config {
        Some(path) => {
            let value: serde_json::Value =
                serde_yaml::from_slice(&read(path)?).map_err(|source| {
                    OfflineError::ParseConfig {
                        path: path.to_path_buf(),
                        source,
                    }
                })?;
            value.to_string()
        }
        None => "{}".to_owned(),
    };
    run(&wasm, &config_json, &dump, format)
}

/// Runs `wasm` with `config_json` once over the dump's maps.
pub fn run(
    wasm: &[u8],
    config_json: &str,
    dump: &Dump,
    format: Format,
) -> Result<Rendered, OfflineError> {
    let runtime = Runtime::new().map_err(OfflineError::Engine)?;
    let mut decoder = WasmDecoder::load(&runtime, wasm, config_json, Limits::default())?;
    let mut snapshots = select(dump.to_snapshots()?, &decoder.spec().maps)?;
    let collection = decoder.decode(&mut snapshots)?;
    let mut exposition = Vec::new();
    let mut encoder = Encoder::new(&mut exposition, format, &[]);
    for family in &collection.families {
        encoder.family(family);
    }
    encoder.finish();
    let dropped = DropReason::ALL
        .iter()
        .map(|&r| (r.as_str(), collection.dropped(r)))
        .filter(|(_, n)| *n > 0)
        .collect();
    Ok(Rendered {
        exposition,
        dropped,
    })
}

/// The snapshots the decoder asked for, in its order (all when it named
/// none).
fn select(
    mut snapshots: Vec<MapSnapshot>,
    wanted: &[String],
) -> Result<Vec<MapSnapshot>, OfflineError> {
    if wanted.is_empty() {
        return Ok(snapshots);
    }
    wanted
        .iter()
        .map(|name| {
            let at = snapshots.iter().position(|s| &s.name == name);
            at.map(|i| snapshots.swap_remove(i))
                .ok_or_else(|| OfflineError::MissingMap {
                    map: name.clone(),
                    available: snapshots
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::artifact;

    fn testdata(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins/writes/testdata")
            .join(name)
    }

    /// The writes demo decoder on a committed dump gives the committed
    /// exposition (re-bless with `BLESS=1`).
    #[test]
    fn the_writes_decoder_on_a_recorded_dump_gives_the_golden_exposition() {
        let rendered = run_files(
            &artifact("plugins/writes.wasm"),
            &testdata("dump.json"),
            None,
            Format::Text,
        )
        .expect("offline run");
        assert!(rendered.dropped.is_empty(), "{:?}", rendered.dropped);
        let golden = testdata("expected.prom");
        let actual = String::from_utf8(rendered.exposition).expect("utf-8");
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&golden, &actual).expect("bless");
        }
        let expected = std::fs::read_to_string(&golden).expect("golden file");
        assert_eq!(actual, expected, "re-bless with BLESS=1 if intended");
    }

    #[test]
    fn a_dump_without_the_decoders_map_is_refused_naming_it() {
        let dump = Dump::from_snapshots(
            None,
            &[MapSnapshot {
                name: "other".into(),
                ..MapSnapshot::default()
            }],
        );
        let wasm = std::fs::read(artifact("plugins/writes.wasm")).expect("read plugin");
        let err = run(&wasm, "{}", &dump, Format::Text).expect_err("missing map");
        assert_eq!(
            err.to_string(),
            "the decoder asks for map writes_by_process, which the dump does not have (it has: other)"
        );
    }
}
