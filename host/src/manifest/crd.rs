//! The `BpfExporter` `CustomResourceDefinition`, generated from
//! [`BpfExporterSpec`](super::BpfExporterSpec), and the bridge from the
//! resource the API serves to the type file mode validates.
//!
//! `bpfhost crd` prints [`crd_yaml`]; the copy committed as
//! `crd/deploy/bpfexporter.crd.yaml` (installed by `kubectl apply -k
//! crd/deploy`) is compared with it by a test, so the two
//! cannot drift.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt as _;

use super::spec::{API_VERSION, BpfExporter, BpfExporterResource, KIND, ObjectMeta};

/// Path of the committed CRD, relative to the workspace root.
pub const CRD_FILE: &str = "crd/deploy/bpfexporter.crd.yaml";

/// The CRD as a Kubernetes object.
pub fn crd() -> CustomResourceDefinition {
    let mut crd = BpfExporterResource::crd();
    // The derive titles the schema with the Rust type's name, which means
    // nothing to a cluster user.
    let schema = crd.spec.versions.iter_mut().filter_map(|version| {
        version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
    });
    for schema in schema {
        schema.title = None;
    }
    crd
}

/// The CRD as YAML, with a header saying where it comes from.
///
/// ```no_run
/// print!("{}", bpfhost::manifest::crd_yaml());
/// ```
pub fn crd_yaml() -> String {
    let body = serde_yaml::to_string(&crd()).expect("a CRD always serializes");
    format!(
        "# Generated from host/src/manifest/spec.rs by `bpfhost crd`; do not edit.\n\
         # Regenerate: cargo run -p bpfhost -- crd > {CRD_FILE}\n{body}"
    )
}

impl From<BpfExporterResource> for BpfExporter {
    /// The resource as file mode's type, ready for
    /// [`Manifest::from_resource`](super::Manifest::from_resource). A missing
    /// name becomes empty (which validation reports); the status is kept as
    /// JSON, which file mode ignores.
    fn from(resource: BpfExporterResource) -> Self {
        let meta = resource.metadata;
        BpfExporter {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            metadata: ObjectMeta {
                name: meta.name.unwrap_or_default(),
                namespace: meta.namespace,
                labels: meta.labels.unwrap_or_default(),
                annotations: meta.annotations.unwrap_or_default(),
            },
            spec: resource.spec,
            status: resource
                .status
                .and_then(|status| serde_json::to_value(status).ok()),
        }
    }
}

#[cfg(test)]
mod check;
#[cfg(test)]
mod tests;
