use crate::SourceId;

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A monotonically increasing count, exposed as `NAME_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative buckets, a sum and a count.
    Histogram,
}

/// A metric family, declared once in [`Decoder::init`](crate::Decoder::init).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) metric_type: MetricType,
    pub(crate) unit: String,
    pub(crate) labels: Vec<String>,
    pub(crate) buckets: Vec<f64>,
}

/// Refers to a declared family when emitting rows; cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FamilyId(pub(crate) u32);

/// The families a decoder produces, the maps it reads and the event
/// sources it takes records from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec {
    pub(crate) families: Vec<Family>,
    pub(crate) maps: Vec<String>,
    pub(crate) events: Vec<EventSource>,
}

/// A declared event source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSource {
    pub(crate) name: String,
    pub(crate) min_record_size: u32,
}

impl EventSource {
    /// The ring buffer or perf event array map's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Shorter records are dropped by the host.
    pub fn min_record_size(&self) -> usize {
        self.min_record_size as usize
    }
}

impl Spec {
    /// Declares a counter. `name` is given without the `_total` suffix.
    pub fn counter(&mut self, name: &str, help: &str, labels: &[&str]) -> FamilyId {
        self.push(name, help, MetricType::Counter, labels, Vec::new())
    }

    /// Declares a gauge.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[&str]) -> FamilyId {
        self.push(name, help, MetricType::Gauge, labels, Vec::new())
    }

    /// Declares a histogram with the given bucket upper bounds (ascending,
    /// without `+Inf`).
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> FamilyId {
        self.push(name, help, MetricType::Histogram, labels, buckets.to_vec())
    }

    /// Sets the unit of a declared family (e.g. `seconds`); the name should
    /// end with `_<unit>`.
    pub fn set_unit(&mut self, family: FamilyId, unit: &str) {
        if let Some(f) = self.families.get_mut(family.0 as usize) {
            unit.clone_into(&mut f.unit);
        }
    }

    /// Asks the host to snapshot this map at every scrape. Without any call,
    /// the host hands over every map of the object, or none when the decoder
    /// declares event sources ([`Spec::events`]).
    pub fn map(&mut self, name: &str) {
        self.maps.push(name.to_owned());
    }

    /// Takes the records of `map`, a ring buffer
    /// (`BPF_MAP_TYPE_RINGBUF`) or perf event array
    /// (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`), as they arrive:
    /// [`Decoder::on_events`](crate::Decoder::on_events) receives them in
    /// batches. The host drops (and counts) records shorter than
    /// `min_record_size` bytes, so the decoder can read that many without
    /// checking; 0 takes every record. An event source is never snapshot.
    pub fn events(&mut self, map: &str, min_record_size: usize) -> SourceId {
        let id = SourceId(self.events.len() as u32);
        self.events.push(EventSource {
            name: map.to_owned(),
            min_record_size: u32::try_from(min_record_size).unwrap_or(u32::MAX),
        });
        id
    }

    /// The event sources declared so far, in declaration order.
    pub fn event_sources(&self) -> &[EventSource] {
        &self.events
    }

    /// The families declared so far, in declaration order.
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// The maps requested so far.
    pub fn maps(&self) -> &[String] {
        &self.maps
    }

    fn push(
        &mut self,
        name: &str,
        help: &str,
        metric_type: MetricType,
        labels: &[&str],
        buckets: Vec<f64>,
    ) -> FamilyId {
        let id = FamilyId(self.families.len() as u32);
        self.families.push(Family {
            name: name.to_owned(),
            help: help.to_owned(),
            metric_type,
            unit: String::new(),
            labels: labels.iter().map(|&l| l.to_owned()).collect(),
            buckets,
        });
        id
    }
}

impl Family {
    /// The family's name (without `_total` for counters).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The family's type.
    pub fn metric_type(&self) -> MetricType {
        self.metric_type
    }

    /// The family's help text.
    pub fn help(&self) -> &str {
        &self.help
    }

    /// The family's unit (empty for none).
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// The family's label names.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Histogram bucket upper bounds (empty for other types).
    pub fn buckets(&self) -> &[f64] {
        &self.buckets
    }
}
