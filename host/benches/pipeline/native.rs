//! The same decoder compiled natively, behind the agent's `Decoder` seam.
//!
//! The adapter does what the wasm path does around the plugin call, minus
//! the sandbox: the spec goes through the same `check_spec`, snapshots are
//! handed over by moving their buffers (no copy), and rows go through the
//! same `assemble` with the same bounds. So native-vs-wasm measures exactly
//! the cost of the sandbox and the component-model copies.

use bpfhost::decoder::validate::{OutputBounds, check_spec};
use bpfhost::decoder::{
    Collection, Declaration, DecodeError, Decoder, EventBatch, EventSource, PluginErrorKind, Row,
    assemble,
};
use bpfhost::maps::{MapSnapshot, MapType};
use bpfhost::metrics::{Family, LabelPool, Labels, MetricType, Value};
use bpfhost_plugin_sdk as sdk;

/// An SDK decoder run in-process.
#[derive(Debug)]
pub struct Native<D> {
    inner: D,
    spec: Declaration,
    bounds: OutputBounds,
    /// Reused across calls; only the buffers move in and out.
    views: Vec<sdk::MapSnapshot>,
}

impl<D: sdk::Decoder> Native<D> {
    /// Calls `init` with `config_json` and checks the declared families.
    pub fn new(config_json: &str, bounds: OutputBounds) -> Self {
        let mut spec = sdk::Spec::default();
        let inner = D::init(&sdk::Config::new(config_json), &mut spec)
            .unwrap_or_else(|e| panic!("native decoder init: {e}"));
        let spec =
            check_spec(host_spec(&spec), &bounds).expect("the native decoder's spec is valid");
        Self {
            inner,
            spec,
            bounds,
            views: Vec::new(),
        }
    }
}

fn host_spec(spec: &sdk::Spec) -> Declaration {
    Declaration {
        families: spec
            .families()
            .iter()
            .map(|f| {
                std::sync::Arc::new(Family {
                    name: f.name().to_owned(),
                    help: f.help().to_owned(),
                    metric_type: match f.metric_type() {
                        sdk::MetricType::Counter => MetricType::Counter,
                        sdk::MetricType::Gauge => MetricType::Gauge,
                        sdk::MetricType::Histogram => MetricType::Histogram,
                    },
                    unit: f.unit().to_owned(),
                    labels: f.labels().to_vec(),
                    buckets: f.buckets().to_vec(),
                })
            })
            .collect(),
        maps: spec.maps().to_vec(),
        events: spec
            .event_sources()
            .iter()
            .map(|e| EventSource {
                map: e.name().to_owned(),
                min_record_size: u32::try_from(e.min_record_size()).unwrap_or(u32::MAX),
            })
            .collect(),
    }
}

fn sdk_map_type(t: Option<MapType>) -> sdk::MapType {
    match t {
        Some(MapType::Hash) => sdk::MapType::Hash,
        Some(MapType::Array) => sdk::MapType::Array,
        Some(MapType::PerCpuHash) => sdk::MapType::PerCpuHash,
        Some(MapType::PerCpuArray) => sdk::MapType::PerCpuArray,
        Some(MapType::LruHash) => sdk::MapType::LruHash,
        Some(MapType::LruPerCpuHash) => sdk::MapType::LruPerCpuHash,
        Some(MapType::Other(_)) | None => sdk::MapType::Other,
    }
}

fn plugin_error(e: sdk::Error) -> DecodeError {
    let (kind, message) = match e {
        sdk::Error::InvalidConfig(m) => (PluginErrorKind::InvalidConfig, m),
        sdk::Error::BadMap(m) => (PluginErrorKind::BadMap, m),
        sdk::Error::Failed(m) => (PluginErrorKind::Failed, m),
        // The SDK's typed layout errors: the map is not what was expected.
        other => (PluginErrorKind::BadMap, other.to_string()),
    };
    DecodeError::Plugin { kind, message }
}

impl<D: sdk::Decoder + Send> Decoder for Native<D> {
    fn spec(&self) -> &Declaration {
        &self.spec
    }

    fn on_events(&mut self, batch: &mut EventBatch) -> Result<(), DecodeError> {
        let events = sdk::Events::new(sdk::SourceId::new(batch.source), batch.records, &batch.data)
            .at(bpfhost::sys::monotonic_ns());
        self.inner.on_events(&events).map_err(plugin_error)
    }

    fn decode(&mut self, maps: &mut [MapSnapshot]) -> Result<Collection, DecodeError> {
        self.views.clear();
        self.views.extend(maps.iter_mut().map(|m| sdk::MapSnapshot {
            name: m.name.clone(),
            map_type: sdk_map_type(m.map_type),
            key_size: m.key_size as usize,
            value_size: m.value_size as usize,
            entries: m.entries as usize,
            cpus: m.cpus as usize,
            keys: std::mem::take(&mut m.keys),
            values: std::mem::take(&mut m.values),
        }));
        let mut out = sdk::Output::default();
        let result = self.inner.decode(&sdk::Maps::new(&self.views), &mut out);
        for (m, v) in maps.iter_mut().zip(&mut self.views) {
            m.keys = std::mem::take(&mut v.keys);
            m.values = std::mem::take(&mut v.values);
        }
        result.map_err(plugin_error)?;
        // A native decoder hands the host its label values as the wasm one
        // does: copied once into one pool (the wasm host lifts the plugin's
        // buffer), which every row then points into.
        let mut text = String::new();
        let mut ends = Vec::new();
        let all_labels = out
            .sample_views()
            .map(|s| s.labels)
            .chain(out.histogram_views().map(|h| h.labels));
        for labels in all_labels {
            for value in labels {
                text.push_str(value);
                ends.push(u32::try_from(text.len()).expect("labels fit in 4 GiB"));
            }
        }
        let pool = LabelPool::new(text, ends);
        let next = std::cell::Cell::new(0usize);
        let labels = |count: usize| {
            let first = next.replace(next.get() + count);
            Labels::from_pool(&pool, first, count).expect("the pool holds every row's values")
        };
        let samples = out.sample_views().map(|s| Row {
            family: s.family,
            labels: labels(s.labels.len()),
            value: Value::Number(s.value),
        });
        let histograms = out.histogram_views().map(|h| Row {
            family: h.family,
            labels: labels(h.labels.len()),
            value: Value::Histogram {
                buckets: h.buckets.to_vec(),
                sum: h.sum,
                count: h.count,
            },
        });
        Ok(assemble(&self.spec, samples.chain(histograms), self.bounds))
    }
}
