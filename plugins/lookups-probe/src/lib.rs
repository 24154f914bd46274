//! A test decoder that resolves the ids its config names through every host
//! lookup and emits the answers as labels, so the agent's tests can check
//! lookups end to end through a real component.
//!
//! Config: `{"cgroups": [id], "pids": [pid], "ifindexes": [n], "syscalls":
//! [n], "errnos": [n], "addresses": [addr]}`, every list optional. It
//! ignores the maps and emits, at every decode:
//!
//! - `probe_cgroup{id, path, namespace, pod, container, container_id}` 1
//!   per cgroup id (empty labels where a lookup answered `None`);
//! - `probe_name{lookup, key, name}`, 1 when the lookup answered and 0
//!   when it did not, per pid (`comm`), ifindex (`ifname`), syscall number,
//!   errno and kernel address (`ksym`).

use bpfhost_plugin_sdk::{Config, Decoder, FamilyId, Maps, Output, Result, Spec, lookup};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Ids {
    cgroups: Vec<u64>,
    pids: Vec<u32>,
    ifindexes: Vec<u32>,
    syscalls: Vec<u32>,
    errnos: Vec<i32>,
    addresses: Vec<u64>,
}

/// The decoder's state: the ids to resolve and its two families.
#[derive(Debug)]
pub struct Probe {
    ids: Ids,
    cgroup: FamilyId,
    name: FamilyId,
}

impl Decoder for Probe {
    fn init(config: &Config, spec: &mut Spec) -> Result<Self> {
        let cgroup = spec.gauge(
            "probe_cgroup",
            "Cgroup ids resolved to path and pod.",
            &[
                "id",
                "path",
                "namespace",
                "pod",
                "container",
                "container_id",
            ],
        );
        let name = spec.gauge(
            "probe_name",
            "Ids resolved to names; 0 when the lookup answered none.",
            &["lookup", "key", "name"],
        );
        Ok(Self {
            ids: config.parse()?,
            cgroup,
            name,
        })
    }

    fn decode(&mut self, _maps: &Maps<'_>, out: &mut Output) -> Result<()> {
        for &id in &self.ids.cgroups {
            let path = lookup::cgroup_path(id).unwrap_or_default();
            let pod = lookup::pod_of_cgroup(id).unwrap_or_default();
            out.sample(
                self.cgroup,
                &[
                    &id.to_string(),
                    &path,
                    &pod.namespace,
                    &pod.name,
                    &pod.container,
                    &pod.container_id,
                ],
                1.0,
            );
        }
        let ids = &self.ids;
        let names = ids
            .pids
            .iter()
            .map(|&p| ("comm", p.to_string(), lookup::process_name(p)))
            .chain(
                ids.ifindexes
                    .iter()
                    .map(|&i| ("ifname", i.to_string(), lookup::interface_name(i))),
            )
            .chain(
                ids.syscalls
                    .iter()
                    .map(|&n| ("syscall", n.to_string(), lookup::syscall_name(n))),
            )
            .chain(
                ids.errnos
                    .iter()
                    .map(|&e| ("errno", e.to_string(), lookup::errno_name(e))),
            )
            .chain(
                ids.addresses
                    .iter()
                    .map(|&a| ("ksym", format!("{a:#x}"), lookup::kernel_symbol(a))),
            );
        for (kind, key, name) in names {
            let found = if name.is_some() { 1.0 } else { 0.0 };
            out.sample(self.name, &[kind, &key, &name.unwrap_or_default()], found);
        }
        Ok(())
    }
}

bpfhost_plugin_sdk::export_decoder!(Probe);

#[cfg(test)]
mod tests {
    use bpfhost_plugin_sdk::lookup::Pod;
    use bpfhost_plugin_sdk::lookup::fake::{self, Fake};

    use super::*;

    #[test]
    fn answers_become_labels_and_misses_empty_labels() {
        let mut fake = Fake::default();
        fake.cgroup_paths.insert(7, "/kubepods/podx/abc".into());
        fake.pods.insert(
            7,
            Pod {
                namespace: "shop".into(),
                name: "cart".into(),
                container: "app".into(),
                ..Pod::default()
            },
        );
        fake.syscalls.insert(257, "openat".into());
        fake::install(fake);
        let config = Config::new(r#"{"cgroups": [7, 8], "syscalls": [257, 9999]}"#);
        let mut probe = Probe::init(&config, &mut Spec::default()).unwrap();
        let mut out = Output::default();
        probe.decode(&Maps::new(&[]), &mut out).unwrap();
        let labels: Vec<_> = out
            .samples()
            .iter()
            .map(|s| (s.labels.join(","), s.value))
            .collect();
        assert_eq!(
            labels,
            [
                ("7,/kubepods/podx/abc,shop,cart,app,".to_owned(), 1.0),
                ("8,,,,,".to_owned(), 1.0),
                ("syscall,257,openat".to_owned(), 1.0),
                ("syscall,9999,".to_owned(), 0.0),
            ]
        );
    }
}
