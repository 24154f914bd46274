//! Glue between the generated WIT bindings and the [`Decoder`] trait.
//! Not part of the public API.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::{Config, Decoder, Error, Events, MapSnapshot, Maps, Output, SourceId, Spec};

#[allow(
    clippy::pedantic,
    missing_debug_implementations,
    reason = "generated code"
)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "decoder",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "bpfhost_plugin_sdk::__private::bindings",
        runtime_path: "bpfhost_plugin_sdk::__private::wit_bindgen::rt",
    });
}

pub use ::wit_bindgen;
use bindings::bpfhost::decoder::types as wit;
pub use bindings::export_world;

/// Object-safe view of a decoder, so one `static` can hold any of them.
trait Instance {
    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> crate::Result<()>;
    fn on_events(&mut self, events: &Events<'_>) -> crate::Result<()>;
}

impl<D: Decoder> Instance for D {
    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> crate::Result<()> {
        Decoder::decode(self, maps, out)
    }

    fn on_events(&mut self, events: &Events<'_>) -> crate::Result<()> {
        Decoder::on_events(self, events)
    }
}

/// Runs `f` on the decoder `init` made.
fn with_instance(f: impl FnOnce(&mut dyn Instance) -> crate::Result<()>) -> crate::Result<()> {
    INSTANCE.with(|cell| match cell.borrow_mut().as_mut() {
        Some(instance) => f(instance.as_mut()),
        None => Err(Error::Failed("called before init".into())),
    })
}

thread_local! {
    static INSTANCE: RefCell<Option<Box<dyn Instance>>> = RefCell::new(None);
}

/// Implements the generated `Guest` trait for a decoder type `D`.
#[derive(Debug)]
pub struct Adapter<D>(PhantomData<D>);

impl<D: Decoder> bindings::Guest for Adapter<D> {
    fn init(config: String) -> Result<wit::Spec, wit::Error> {
        let mut spec = Spec::default();
        let decoder = D::init(&Config::new(config), &mut spec).map_err(Error::into_wit)?;
        INSTANCE.with(|cell| *cell.borrow_mut() = Some(Box::new(decoder)));
        Ok(spec.into_wit())
    }

    fn decode(maps: Vec<wit::MapSnapshot>, now: u64) -> Result<wit::Output, wit::Error> {
        let snapshots: Vec<MapSnapshot> = maps.into_iter().map(MapSnapshot::from_wit).collect();
        let maps = Maps::new(&snapshots).at(now);
        let mut out = Output::default();
        with_instance(|instance| instance.decode(&maps, &mut out)).map_err(Error::into_wit)?;
        Ok(out.into_wit())
    }

    fn on_events(batch: wit::EventBatch) -> Result<(), wit::Error> {
        let events = Events::new(SourceId(batch.source), batch.records, &batch.data).at(batch.now);
        with_instance(|instance| instance.on_events(&events)).map_err(Error::into_wit)
    }
}

impl Error {
    fn into_wit(self) -> wit::Error {
        match self {
            Self::InvalidConfig(m) => wit::Error::InvalidConfig(m),
            Self::BadMap(m) => wit::Error::BadMap(m),
            Self::Failed(m) => wit::Error::Failed(m),
            e @ (Self::TooShort { .. }
            | Self::SlotOutOfRange { .. }
            | Self::HistogramSize { .. }) => wit::Error::BadMap(e.to_string()),
            e @ Self::InvalidBuckets { .. } => wit::Error::Failed(e.to_string()),
        }
    }
}

impl Spec {
    fn into_wit(self) -> wit::Spec {
        wit::Spec {
            families: self
                .families
                .into_iter()
                .map(|f| wit::Family {
                    name: f.name,
                    help: f.help,
                    metric_type: match f.metric_type {
                        crate::MetricType::Counter => wit::MetricType::Counter,
                        crate::MetricType::Gauge => wit::MetricType::Gauge,
                        crate::MetricType::Histogram => wit::MetricType::Histogram,
                    },
                    unit: f.unit,
                    labels: f.labels,
                    buckets: f.buckets,
                })
                .collect(),
            maps: self.maps,
            events: self
                .events
                .into_iter()
                .map(|e| wit::EventSource {
                    name: e.name,
                    min_record_size: e.min_record_size,
                })
                .collect(),
        }
    }
}

impl MapSnapshot {
    fn from_wit(m: wit::MapSnapshot) -> Self {
        use crate::MapType;
        Self {
            name: m.name,
            map_type: match m.map_type {
                wit::MapType::Hash => MapType::Hash,
                wit::MapType::Array => MapType::Array,
                wit::MapType::PercpuHash => MapType::PerCpuHash,
                wit::MapType::PercpuArray => MapType::PerCpuArray,
                wit::MapType::LruHash => MapType::LruHash,
                wit::MapType::LruPercpuHash => MapType::LruPerCpuHash,
                wit::MapType::Other => MapType::Other,
            },
            key_size: m.key_size as usize,
            value_size: m.value_size as usize,
            entries: m.entries as usize,
            cpus: m.cpus as usize,
            keys: m.keys,
            values: m.values,
        }
    }
}

impl Output {
    /// The WIT form is the SDK's own: the label buffer and offsets move
    /// over as they are, rows are re-laid out by wit-bindgen.
    fn into_wit(self) -> wit::Output {
        let range = |s: crate::output::Span| wit::LabelRange {
            first: s.first,
            count: s.count,
        };
        wit::Output {
            label_values: self.text,
            label_ends: self.ends,
            samples: self
                .samples
                .into_iter()
                .map(|s| wit::Sample {
                    family: s.family,
                    labels: range(s.labels),
                    value: s.value,
                })
                .collect(),
            histograms: self
                .histograms
                .into_iter()
                .map(|h| wit::HistogramSample {
                    family: h.family,
                    labels: range(h.labels),
                    buckets: h.buckets,
                    sum: h.sum,
                    count: h.count,
                })
                .collect(),
        }
    }
}
