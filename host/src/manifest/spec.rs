//! The `BpfExporter` resource as Rust types (`bpfhost.dev/v1alpha1`).
//!
//! These types are the single source of the manifest format: file mode parses
//! them from YAML into [`BpfExporter`]; the CRD schema is derived from
//! [`BpfExporterSpec`], whose `CustomResource` derive also generates
//! [`BpfExporterResource`], the resource as the Kubernetes API serves it.
//! Schema details serde cannot express (one-of sources, free-form fields)
//! live in `schema.rs`.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits::DecoderLimits;
use super::schema;
use super::status::BpfExporterStatus;

/// API group and version of the resource.
pub const API_VERSION: &str = "bpfhost.dev/v1alpha1";
/// Kind of the resource.
pub const KIND: &str = "BpfExporter";

/// A whole `BpfExporter` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BpfExporter {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: BpfExporterSpec,
    /// Written by agents; ignored on input in file mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// The parts of Kubernetes object metadata bpfhost uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// What to load, attach and decode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, CustomResource, JsonSchema)]
#[kube(
    group = "bpfhost.dev",
    version = "v1alpha1",
    kind = "BpfExporter",
    root = "BpfExporterResource",
    namespaced,
    status = "BpfExporterStatus",
    derive = "PartialEq",
    shortname = "bpfx",
    category = "bpfhost",
    doc = "An eBPF object whose maps a wasm decoder turns into Prometheus metrics, \
           loaded by the bpfhost agent of every selected node.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BpfExporterSpec {
    /// Label selector on the node; empty selects every node.
    #[serde(default)]
    pub node_selector: LabelSelector,
    /// The eBPF ELF object.
    pub object: Source,
    /// Explicit attach points and programs left out (`autoload: false`);
    /// programs not listed attach by their `SEC()` name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<ProgramAttach>,
    /// Settings of the object's maps, by map name, applied before the maps
    /// are created (libbpf's `bpf_map__set_max_entries`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub maps: BTreeMap<String, MapOverride>,
    /// What to do when some programs fail to attach: `AllOrNothing` (the
    /// default) fails the exporter; `BestEffort` serves with the programs that
    /// did attach, as long as one did, and reports the others.
    #[serde(default, skip_serializing_if = "AttachPolicy::is_default")]
    pub attach_policy: AttachPolicy,
    /// Overrides of `const volatile` globals, by symbol name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::globals")]
    pub globals: BTreeMap<String, GlobalValue>,
    /// A map of the object the agent keeps filled with the ids of the
    /// cgroups whose paths match (`ebpf_exporter`'s `cgroup_id_map`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_id_map: Option<CgroupIdMapSpec>,
    /// The wasm decoder component and its configuration.
    pub decoder: DecoderSpec,
}

/// A map of cgroup ids kept in sync with the cgroup v2 hierarchy: the
/// cgroups whose path matches one of `regexps` are in it, from load on and
/// as cgroups are created and removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CgroupIdMapSpec {
    /// The object's map.
    pub map: String,
    /// How the map is keyed: `hash` (the default) or `cgrp_storage`.
    #[serde(default, rename = "type")]
    pub kind: CgroupIdMapKind,
    /// Regular expressions on the cgroup's full path
    /// (`/sys/fs/cgroup/system.slice/cron.service`); a cgroup matching any
    /// of them is in the map.
    pub regexps: Vec<String>,
}

/// The two kinds of map `ebpf_exporter` keeps cgroup ids in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CgroupIdMapKind {
    /// A hash map (any hash or LRU hash) keyed by the cgroup id (`u64`),
    /// value `1u64`; removed cgroups are deleted from it.
    #[default]
    Hash,
    /// A `BPF_MAP_TYPE_CGRP_STORAGE` map: value `1u64` in the storage of
    /// every matching cgroup; the kernel frees it with the cgroup.
    CgrpStorage,
}

/// A Kubernetes label selector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Where bytes come from: exactly one of the three fields must be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(transform = schema::exactly_one_source)]
pub struct Source {
    /// A file, relative to the manifest's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The bytes, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    /// A key of a `ConfigMap` (`binaryData` or `data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeyRef>,
    /// The bytes' SHA-256 (64 hex digits); the agent refuses other bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A reference to one key of a `ConfigMap` in the resource's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapKeyRef {
    pub name: String,
    pub key: String,
}

/// The decoder: a source for the component plus its free-form configuration.
///
/// The component comes from exactly one of `path`, `inline`,
/// `configMapKeyRef` and `builtin`. The first three fields repeat
/// [`Source`]'s rather than embedding it with
/// `#[serde(flatten)]`: serde's `flatten` does not work together with
/// `deny_unknown_fields`, and a typo in a manifest must be an error.
/// [`DecoderSpec::source`] gives them back as a `Source`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(transform = schema::exactly_one_decoder_source)]
pub struct DecoderSpec {
    /// A file, relative to the manifest's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The component, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    /// A key of a `ConfigMap` (`binaryData` or `data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeyRef>,
    /// A decoder shipped with the agent, by name (`ebpf-exporter`): the
    /// agent's `<builtin dir>/<name>.wasm`. It is granted the lookups it
    /// needs unless `lookups` lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
    /// The component's SHA-256 (64 hex digits); the agent refuses other
    /// bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Handed to the plugin's `init` as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::free_form")]
    pub config: Option<serde_json::Value>,
    /// Overrides of the sandbox and output limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<DecoderLimits>,
    /// Host lookups the decoder may call: `ksym`, `cgroup`, `pod`, `ifname`,
    /// `comm`, `syscall`, `errno`, `majorminor`, `pci` (checked by name at
    /// validation). Empty for a built-in decoder: those its config needs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<String>,
}

impl DecoderSpec {
    /// The component's source, without the configuration.
    pub fn source(&self) -> Source {
        Source {
            path: self.path.clone(),
            inline: self.inline.clone(),
            config_map_key_ref: self.config_map_key_ref.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

/// A value for a `const volatile` global; encoded to the symbol's size.
///
/// Written as a plain YAML value: `true`, `42`, `-1`, `"eth0"` or a list of
/// bytes. Deserialization lives in `global.rs` so a wrong value gets a
/// message that says what is accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GlobalValue {
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    /// Raw bytes, e.g. for a `char[]` or struct global.
    Bytes(Vec<u8>),
    /// A string, written NUL-padded into a `char[]` global.
    String(String),
}

/// What to do with one program: attach it somewhere else than its `SEC()`
/// name says, or leave it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProgramAttach {
    /// The program's function name in the ELF.
    pub name: String,
    // Where to attach; the `SEC()` name decides when absent. (Described in
    // `schema::attach_point`: a doc comment here would replace that text.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::attach_point")]
    pub attach: Option<AttachPoint>,
    /// A USDT probe to attach a `SEC("usdt")` program to; the same as
    /// `attach: {usdt: ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usdt: Option<UsdtTarget>,
    /// `false`: the program is neither loaded nor attached (libbpf's
    /// `bpf_program__set_autoload`), e.g. to pick one of an fentry and a
    /// kprobe variant; cannot be combined with `attach`. `true` (the
    /// default) may be written out, e.g. by a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoload: Option<bool>,
}

impl ProgramAttach {
    /// An entry attaching program `name` at `point`.
    pub fn at(name: impl Into<String>, point: AttachPoint) -> Self {
        Self {
            name: name.into(),
            attach: Some(point),
            usdt: None,
            autoload: None,
        }
    }

    /// An entry leaving program `name` out: neither loaded nor attached.
    pub fn disabled(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            attach: None,
            usdt: None,
            autoload: Some(false),
        }
    }

    /// Where the entry attaches the program: `attach`, or `usdt` as an
    /// attach point.
    pub fn attach_point(&self) -> Option<AttachPoint> {
        self.attach
            .clone()
            .or_else(|| self.usdt.clone().map(AttachPoint::Usdt))
    }

    /// Whether the program is loaded (`autoload` is not `false`).
    pub fn loads(&self) -> bool {
        self.autoload != Some(false)
    }
}

/// Settings of one map of the object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MapOverride {
    /// The map's size, replacing the ELF's `max_entries` (which bcc-style
    /// objects leave 0 for user space to set).
    #[schemars(range(min = 1))]
    pub max_entries: u32,
}

/// Whether a program that fails to attach fails the whole exporter:
/// `AllOrNothing` (the default) fails it; `BestEffort` serves with the
/// programs that attached (at least one must) and reports the others in
/// status and self-metrics.
// The variants carry no doc comments: schemars would turn them into a
// `oneOf` with descriptions, which a structural CRD schema cannot hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AttachPolicy {
    #[default]
    AllOrNothing,
    BestEffort,
}

impl AttachPolicy {
    /// Whether this is the default, `AllOrNothing`.
    pub fn is_default(&self) -> bool {
        *self == Self::AllOrNothing
    }
}

/// Where and how to attach a program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum AttachPoint {
    /// `category/name`, e.g. `syscalls/sys_enter_write`.
    Tracepoint(String),
    /// A raw tracepoint name, e.g. `sched_switch`.
    RawTracepoint(String),
    /// A BTF-typed tracepoint name.
    BtfTracepoint(String),
    /// A kernel function to trace on entry.
    Fentry(String),
    /// A kernel function to trace on exit.
    Fexit(String),
    Kprobe(ProbeTarget),
    Kretprobe(ProbeTarget),
    Uprobe(UprobeTarget),
    Uretprobe(UprobeTarget),
    /// A socket filter on one interface, or on every interface when `None`.
    Socket(InterfaceTarget),
    Xdp(XdpTarget),
    Tc(TcTarget),
    CgroupSkb(CgroupSkbTarget),
    PerfEvent(PerfEventTarget),
    Usdt(UsdtTarget),
    /// Leave the program loaded but unattached.
    None,
}

/// A kernel function, optionally at an offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeTarget {
    pub function: String,
    #[serde(default)]
    pub offset: u64,
}

/// A user-space function in a binary or library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UprobeTarget {
    /// Path of the binary or library, or a library name such as `libc`.
    pub target: String,
    /// Symbol to attach to; when absent, `offset` is from the file start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default)]
    pub offset: u64,
    /// Only this process; every process when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// A network interface, or every interface of the host network namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InterfaceTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// XDP attach mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum XdpMode {
    /// Let the kernel choose (driver mode when supported).
    #[default]
    Default,
    /// Generic (skb) mode; works on every interface.
    Skb,
    /// Native driver mode.
    Driver,
    /// Offloaded to the NIC.
    Hardware,
}

/// An XDP attach point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct XdpTarget {
    pub interface: String,
    #[serde(default)]
    pub mode: XdpMode,
}

/// Traffic direction for TC and cgroup skb programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    Ingress,
    Egress,
}

/// A TC classifier attach point (a `clsact` qdisc is added when missing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcTarget {
    pub interface: String,
    pub direction: Direction,
}

/// A cgroup skb attach point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CgroupSkbTarget {
    /// Cgroup v2 directory; the root of the v2 hierarchy when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    pub direction: Direction,
}

/// A perf event to sample on every CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerfEventTarget {
    /// Software event name: `cpu-clock`, `task-clock`, `page-faults`,
    /// `context-switches`, `cpu-migrations`.
    pub event: String,
    /// Samples per second per CPU (mutually exclusive with `period`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<u64>,
    /// One sample every `period` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
}

/// A USDT probe (`<sys/sdt.h>`, `DTRACE_PROBE`): every site of it in a
/// binary or library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsdtTarget {
    /// Path of the binary or library, or a name looked up like libbpf does
    /// (`libfoo.so.1` in the library directories, `python3` in `PATH`).
    pub binary: String,
    /// The probe's provider, e.g. `python`.
    pub provider: String,
    /// The probe's name, e.g. `function__entry`.
    pub name: String,
    /// Only this process (the binary is read through its root); every
    /// process when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// What `bpf_usdt_cookie()` returns in the program; 0 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<u64>,
}
