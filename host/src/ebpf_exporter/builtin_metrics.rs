//! `ebpf_exporter`'s own series, under its names, labels and help texts
//! (its `exporter/exporter.go`), next to the agent's `bpfhost_*` ones:
//!
//! - `ebpf_exporter_enabled_configs{name}` 1 for each config that is loaded;
//! - `ebpf_exporter_ebpf_program_info{config,program,tag,id}` 1 for each
//!   program of a loaded config;
//! - `ebpf_exporter_ebpf_program_attached{id}` 1 when that program is
//!   attached, else 0;
//! - `ebpf_exporter_decoder_errors_total{config}`, every config from 0:
//!   collections that failed to read or decode the config's maps.
//!
//! `ebpf_exporter_ebpf_program_run_time_seconds` and `_run_count_total`
//! (only served with `kernel.bpf_stats_enabled`) are not.

use crate::agent::{ExporterReport, ExtraFamilies, SelfMetrics, family, series};
use crate::metrics::{FamilySamples, MetricType};

use super::configs::ConfigName;

/// The families, for a fixed set of configs.
#[derive(Debug, Clone)]
pub struct BuiltinMetrics {
    configs: Vec<ConfigName>,
}

impl BuiltinMetrics {
    pub fn new(configs: Vec<ConfigName>) -> Self {
        Self { configs }
    }

    /// The config behind exporter `name`, if it is one of ours.
    fn config(&self, exporter: &str) -> Option<&str> {
        self.configs
            .iter()
            .find(|c| c.exporter == exporter)
            .map(|c| c.config.as_str())
    }
}

impl ExtraFamilies for BuiltinMetrics {
    fn render(&self, reports: &[ExporterReport], counters: &SelfMetrics) -> Vec<FamilySamples> {
        let ours = || {
            reports
                .iter()
                .filter_map(|r| Some((self.config(&r.exporter)?, r)))
        };
        let gauge = |name, help, labels: &[&str]| family(name, help, MetricType::Gauge, labels);
        let enabled = FamilySamples {
            family: gauge(
                "ebpf_exporter_enabled_configs",
                "The set of enabled configs",
                &["name"],
            ),
            series: ours()
                .filter(|(_, r)| r.loaded)
                .map(|(config, _)| series(&[config], 1.0))
                .collect(),
        };
        let programs =
            || ours().flat_map(|(config, r)| r.programs.iter().map(move |p| (config, p)));
        let info = FamilySamples {
            family: gauge(
                "ebpf_exporter_ebpf_program_info",
                "Info about ebpf programs",
                &["config", "program", "tag", "id"],
            ),
            series: programs()
                .map(|(config, p)| series(&[config, &p.name, &p.tag, &p.id.to_string()], 1.0))
                .collect(),
        };
        let attached = FamilySamples {
            family: gauge(
                "ebpf_exporter_ebpf_program_attached",
                "Whether a program is attached",
                &["id"],
            ),
            series: programs()
                .map(|(_, p)| series(&[&p.id.to_string()], f64::from(u8::from(p.attached))))
                .collect(),
        };
        let errors = FamilySamples {
            family: family(
                "ebpf_exporter_decoder_errors",
                "How many times has decoders encountered errors",
                MetricType::Counter,
                &["config"],
            ),
            series: self
                .configs
                .iter()
                .map(|c| {
                    let total = counters.decode_errors(&c.exporter) as f64;
                    series(&[&c.config], total)
                })
                .collect(),
        };
        vec![enabled, info, attached, errors]
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::agent::ProgramInfo;
    use crate::exposition::{Encoder, Format};

    fn render(reports: &[ExporterReport]) -> String {
        let metrics = BuiltinMetrics::new(vec![
            ConfigName {
                config: "kfree_skb".into(),
                exporter: "kfree-skb".into(),
            },
            ConfigName {
                config: "timers".into(),
                exporter: "timers".into(),
            },
        ]);
        let mut counters = SelfMetrics::default();
        let mut failed = ExporterReport::new("timers");
        failed.decode_error = true;
        counters.observe(&failed);
        let mut body = Vec::new();
        let mut encoder = Encoder::new(&mut body, Format::Text, &[]);
        for family in metrics.render(reports, &counters) {
            encoder.family(&family);
        }
        encoder.finish();
        String::from_utf8(body).expect("utf-8")
    }

    #[test]
    fn serves_ebpf_exporters_own_series_under_its_names() {
        let mut loaded = ExporterReport::new("kfree-skb");
        loaded.loaded = true;
        loaded.programs = Arc::from(vec![
            ProgramInfo {
                name: "kfree_skb".into(),
                id: 42,
                tag: "0123456789abcdef".into(),
                attached: true,
            },
            ProgramInfo {
                name: "spare".into(),
                id: 43,
                tag: "fedcba9876543210".into(),
                attached: false,
            },
        ]);
        let other = ExporterReport::new("not-a-config");
        let text = render(&[loaded, other, ExporterReport::new("timers")]);
        for line in [
            "ebpf_exporter_enabled_configs{name=\"kfree_skb\"} 1",
            "ebpf_exporter_ebpf_program_info{config=\"kfree_skb\",program=\"kfree_skb\",\
             tag=\"0123456789abcdef\",id=\"42\"} 1",
            "ebpf_exporter_ebpf_program_attached{id=\"42\"} 1",
            "ebpf_exporter_ebpf_program_attached{id=\"43\"} 0",
            "ebpf_exporter_decoder_errors_total{config=\"kfree_skb\"} 0",
            "ebpf_exporter_decoder_errors_total{config=\"timers\"} 1",
            "# HELP ebpf_exporter_enabled_configs The set of enabled configs",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        // A config that failed to load is not enabled; other exporters are
        // not configs.
        assert!(!text.contains("name=\"timers\""), "{text}");
        assert!(!text.contains("not-a-config"), "{text}");
    }
}
