//! Decoder for `bpf/cgroup_writes.bpf.c`: `write(2)` calls by Kubernetes
//! namespace, pod and container. The program counts by cgroup id; the
//! agent's `pod` lookup (grant it in the manifest) names the pod from the
//! cgroup path and the kubelet's log directory, with no API call. Writes
//! from cgroups outside any pod are summed under empty labels.

use std::collections::BTreeMap;

use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Reader, Result, Spec, lookup};

const MAP: &str = "writes_by_cgroup";

/// The one family it emits.
#[derive(Debug)]
pub struct PodWrites {
    writes: FamilyId,
}

impl Decoder for PodWrites {
    fn init(_config: &Config, spec: &mut Spec) -> Result<Self> {
        let writes = spec.counter(
            "pod_write_syscalls",
            "write(2) calls, by Kubernetes namespace, pod and container",
            &["namespace", "pod", "container"],
        );
        spec.map(MAP);
        Ok(Self { writes })
    }

    fn decode(&mut self, maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        // Several cgroups can belong to one container (or to no pod): sum.
        let mut totals: BTreeMap<[String; 3], f64> = BTreeMap::new();
        for entry in maps.get(MAP)?.entries() {
            let cgroup = Reader::key(entry.key).u64()?;
            let labels = lookup::pod_of_cgroup(cgroup)
                .map(|p| [p.namespace, p.name, p.container])
                .unwrap_or_default();
            *totals.entry(labels).or_default() += entry.sum_u64()? as f64;
        }
        for ([namespace, pod, container], n) in totals {
            out.sample(self.writes, &[&namespace, &pod, &container], n);
        }
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(PodWrites);
