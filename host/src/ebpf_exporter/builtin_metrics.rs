//! `ebpf_exporter`'s own series, under its names, labels and help texts
//! (its `exporter/exporter.go`), next to the agent's `bpfhost_*` ones:
//!
//! - `ebpf_exporter_enabled_configs{name}` 1 for each config that is loaded;
//! - `ebpf_exporter_ebpf_program_info{config,program,tag,id}` 1 for each
//!   program of a loaded config;
//! - `ebpf_exporter_ebpf_program_attached{id}` 1 when that program is
//!   attached, else 0;
//! - `ebpf_exporter_decoder_errors_total{config}`, every config from 0:
//!   collections that failed to read or decode the config's maps;
//! - `ebpf_exporter_ebpf_program_run_time_seconds{id}` and
//!   `ebpf_exporter_ebpf_program_run_count_total{id}`, only while
//!   `kernel.bpf_stats_enabled` is 1 (the kernel counts nothing otherwise).
//!   Upstream types the run time a counter without `_total`, a name a
//!   counter cannot have here (the encoder adds the suffix), so it is a
//!   gauge: queries keep its name and `rate()` still works on it.

use crate::agent::{ExporterReport, ExtraFamilies, ProgramState, SelfMetrics, family, series};
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
        // Every loaded program, with the kernel's id and tag, and whether
        // it is attached (a program may be loaded and left unattached).
        let programs = || {
            ours().flat_map(|(config, r)| {
                r.program_stats.iter().map(move |stats| {
                    let attached = r
                        .programs
                        .iter()
                        .any(|p| p.name == stats.program && p.state == ProgramState::Attached);
                    (config, stats, attached)
                })
            })
        };
        let info = FamilySamples {
            family: gauge(
                "ebpf_exporter_ebpf_program_info",
                "Info about ebpf programs",
                &["config", "program", "tag", "id"],
            ),
            series: programs()
                .map(|(config, p, _)| series(&[config, &p.program, &p.tag, &p.id.to_string()], 1.0))
                .collect(),
        };
        let attached = FamilySamples {
            family: gauge(
                "ebpf_exporter_ebpf_program_attached",
                "Whether a program is attached",
                &["id"],
            ),
            series: programs()
                .map(|(_, p, attached)| series(&[&p.id.to_string()], f64::from(u8::from(attached))))
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
        let mut families = vec![enabled, info, attached, errors];
        let runs: Vec<_> = programs()
            .filter_map(|(_, p, _)| Some((p.id.to_string(), p.run?)))
            .collect();
        if !runs.is_empty() {
            families.push(FamilySamples {
                family: gauge(
                    "ebpf_exporter_ebpf_program_run_time_seconds",
                    "How long has the program been executing",
                    &["id"],
                ),
                series: runs
                    .iter()
                    .map(|(id, run)| series(&[id], run.time.as_secs_f64()))
                    .collect(),
            });
            families.push(FamilySamples {
                family: family(
                    "ebpf_exporter_ebpf_program_run_count",
                    "How many times has the program been executed",
                    MetricType::Counter,
                    &["id"],
                ),
                series: runs
                    .iter()
                    .map(|(id, run)| series(&[id], run.count as f64))
                    .collect(),
            });
        }
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::ProgramStatus;
    use crate::exposition::{Encoder, Format};
    use crate::loader::{ProgramStats, RunStats};

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
        let status = |name: &str, state| ProgramStatus {
            name: name.into(),
            section: format!("tp/{name}"),
            state,
            target: None,
            error: None,
        };
        loaded.programs = vec![
            status("kfree_skb", ProgramState::Attached),
            status("spare", ProgramState::Unattached),
        ];
        let stats = |program: &str, id, tag: &str| ProgramStats {
            program: program.into(),
            id,
            tag: tag.into(),
            program_type: "tracepoint".into(),
            run: None,
        };
        loaded.program_stats = vec![
            stats("kfree_skb", 42, "0123456789abcdef"),
            stats("spare", 43, "fedcba9876543210"),
        ];
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
        // Without kernel.bpf_stats_enabled, no run figures at all.
        assert!(!text.contains("_run_"), "{text}");
    }

    #[test]
    fn run_time_and_count_follow_the_kernels_figures_under_upstream_names() {
        let mut loaded = ExporterReport::new("kfree-skb");
        loaded.loaded = true;
        loaded.program_stats = vec![ProgramStats {
            program: "kfree_skb".into(),
            id: 42,
            tag: "0123456789abcdef".into(),
            program_type: "tracepoint".into(),
            run: Some(RunStats {
                count: 1234,
                time: std::time::Duration::from_micros(2_500),
            }),
        }];
        let text = render(&[loaded]);
        for line in [
            "# HELP ebpf_exporter_ebpf_program_run_time_seconds How long has the program been executing",
            "# TYPE ebpf_exporter_ebpf_program_run_time_seconds gauge",
            "ebpf_exporter_ebpf_program_run_time_seconds{id=\"42\"} 0.0025",
            "# TYPE ebpf_exporter_ebpf_program_run_count_total counter",
            "ebpf_exporter_ebpf_program_run_count_total{id=\"42\"} 1234",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
    }
}
