//! bpfhost: an eBPF metrics agent.
//!
//! The agent loads eBPF objects ([`loader`]), reads their maps as flat
//! snapshots ([`maps`]), hands them to sandboxed wasm decoders ([`decoder`])
//! and serves the resulting [`metrics`] for Prometheus ([`exposition`]).

pub mod agent;
pub mod app;
pub mod cgroup_id_map;
pub mod cli;
pub mod cluster;
pub mod decoder;
pub mod ebpf_exporter;
pub mod events;
pub mod exposition;
pub mod loader;
pub mod logging;
pub mod lookup;
pub mod manifest;
pub mod maps;
pub mod metrics;
pub mod offline;
pub mod pack;
pub mod plugin_build;
pub mod plugin_language;
pub mod server;
pub mod sys;
pub mod template;
pub mod testing;
pub mod version;
pub mod web;

#[cfg(test)]
mod parsers_fuzz;

/// An error and its sources, joined with `: `, on one line, for logs and
/// status. Each error in the chain either shows its cause in its message or
/// returns it as `source()`, never both, so nothing repeats.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    // Messages are single-line: a multi-line cause (a verifier log tail, a
    // parser's listing) is folded, so a log line or status field stays one.
    if text.contains('\n') {
        text = fold_lines(&text);
    }
    text
}

/// Joins the non-empty lines of `text` into one: with `; ` between
/// sentences, with a space inside a bracketed listing (a `{:#?}` array) or
/// after a line that ends in `:`.
fn fold_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            let listing =
                out.ends_with(['[', '(', '{', ',', ':']) || line.starts_with([']', ')', '}']);
            out.push_str(if listing { " " } else { "; " });
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("rejected:\n  line one\n\nline two\nexpected=[\n    0x0,\n    0x61,\n] (at 0)")]
    struct Inner;

    #[test]
    fn a_chain_shows_each_cause_once_on_one_line() {
        assert_eq!(
            error_chain(&Outer(Inner)),
            "outer: rejected: line one; line two; expected=[ 0x0, 0x61, ] (at 0)"
        );
    }
}
