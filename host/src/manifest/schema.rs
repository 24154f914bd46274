//! The parts of the CRD's `OpenAPI` schema that the derives cannot infer.
//!
//! Kubernetes requires a *structural* schema: every node has a `type` unless
//! it is marked `x-kubernetes-preserve-unknown-fields` or
//! `x-kubernetes-int-or-string`, and `oneOf`/`anyOf`/`allOf` branches may
//! only constrain fields the structural part declares (no `type`,
//! `properties`, `description` or `default` inside them).
//!
//! - **Exactly one source.** `spec.object` and `spec.decoder` carry
//!   `oneOf: [{required: [path]}, {required: [inline]}, {required:
//!   [configMapKeyRef]}]` (`spec.decoder` also `{required: [builtin]}`): with none set no branch matches, with two set two
//!   match, so the API server rejects both, on every Kubernetes version
//!   (no CEL needed). File mode enforces the same rule with its own message.
//! - **Free-form values.** `decoder.config` (any JSON), `globals` (symbol to
//!   a bool, integer, string or byte list) and `attach` (the string `none`
//!   or a one-key object, which no structural type can describe) keep what
//!   the user wrote; the agent validates them and reports errors in status.
//! - **Quantities and durations** (`64Mi` or `4096`, `500ms` or `2`) are
//!   int-or-string, like Kubernetes' own `resource.Quantity`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

use super::limits::{Quantity, TimeSpan};

/// The field names of a source (`spec.object`, `spec.decoder`), in the
/// order messages list them.
pub const SOURCE_FIELDS: &[&str] = &["path", "inline", "configMapKeyRef"];

/// The field names of `spec.decoder`'s source: a [`super::Source`]'s, or a
/// decoder shipped with the agent.
pub const DECODER_SOURCE_FIELDS: &[&str] = &["path", "inline", "configMapKeyRef", "builtin"];

/// The `x-kubernetes-preserve-unknown-fields` extension.
const PRESERVE_UNKNOWN_FIELDS: &str = "x-kubernetes-preserve-unknown-fields";

/// Adds the exactly-one-source `oneOf` to the schema of [`super::Source`].
pub(super) fn exactly_one_source(schema: &mut Schema) {
    exactly_one_of(schema, SOURCE_FIELDS);
}

/// Adds the exactly-one-source `oneOf` to the schema of
/// [`super::DecoderSpec`].
pub(super) fn exactly_one_decoder_source(schema: &mut Schema) {
    exactly_one_of(schema, DECODER_SOURCE_FIELDS);
}

fn exactly_one_of(schema: &mut Schema, fields: &[&str]) {
    let branches: Vec<Value> = fields
        .iter()
        .map(|field| json!({ "required": [field] }))
        .collect();
    schema.insert("oneOf".to_owned(), Value::Array(branches));
}

/// Any JSON value, kept as written (`decoder.config`). The field's doc
/// comment becomes the description.
pub(super) fn free_form(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ PRESERVE_UNKNOWN_FIELDS: true })
}

/// `globals`: symbol names to values whose type the ELF decides.
pub(super) fn globals(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", PRESERVE_UNKNOWN_FIELDS: true })
}

/// `programs[].attach`: `none` or a one-key object, which no structural
/// type can describe.
pub(super) fn attach_point(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "Where and how to attach the program (its `SEC()` name decides when \
            absent): `none`, or an object with \
            exactly one key: `tracepoint: category/name`, `rawTracepoint`, \
            `btfTracepoint`, `fentry`, `fexit` (a name), `kprobe`/`kretprobe` \
            ({function, offset}), `uprobe`/`uretprobe` ({target, function, offset, pid}), \
            `socket` ({interface}), `xdp` ({interface, mode}), `tc` and `cgroupSkb` \
            ({interface or cgroup, direction}), `perfEvent` ({event, frequency or period}), `usdt` ({binary, provider, name, pid, cookie}).",
        PRESERVE_UNKNOWN_FIELDS: true,
    })
}

impl JsonSchema for TimeSpan {
    fn schema_name() -> Cow<'static, str> {
        "TimeSpan".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration such as `500ms`, `2s` or `1m30s`; a bare number counts seconds.",
            "x-kubernetes-int-or-string": true,
        })
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A byte count as a Kubernetes quantity such as `64Mi` or `1G`, \
                or a bare number of bytes.",
            "x-kubernetes-int-or-string": true,
        })
    }
}
