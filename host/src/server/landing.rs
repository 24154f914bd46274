//! `GET /`: a page for a person, as Prometheus exporters have: the version,
//! the node, every exporter with its state, and links to the machine
//! endpoints. Plain server-rendered HTML, no script; everything from
//! manifests and plugins is escaped ([`super::html`]).

use std::fmt::Write as _;

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::html::{PathSegment, Text};
use crate::agent::{Agent, ProgramState, SlotStatus};

/// Nothing but the inline style may load or run, even if escaping failed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// What the page shows.
#[derive(Debug)]
pub struct Landing<'a> {
    pub version: &'a str,
    pub node: &'a str,
    pub exporters: &'a [SlotStatus],
    pub manifest_errors: &'a [String],
    /// Whether `/debug/dump/{exporter}` is served, so linked.
    pub dump: bool,
}

/// The page for `agent`'s current state.
pub fn page(agent: &Agent, dump: bool) -> Response {
    let exporters: Vec<SlotStatus> = agent.slots().iter().map(|s| s.status()).collect();
    let html = Landing {
        version: crate::version::LONG,
        node: agent.node(),
        exporters: &exporters,
        manifest_errors: &agent.manifest_errors(),
        dump,
    }
    .render();
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:80em}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
td.n{text-align:right}a{white-space:nowrap}.running{color:#060}.failed{color:#b00}.error{font-family:monospace;white-space:pre-wrap}";

impl Landing<'_> {
    /// The whole document.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048 + 512 * self.exporters.len());
        let (version, node) = (Text(self.version), Text(self.node));
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>bpfhost on {node}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <h1>bpfhost</h1>\n<p>eBPF metrics agent, version {version}, on node <strong>{node}</strong>.</p>\n\
             <ul>\n<li><a href=\"/metrics\">Metrics</a> (for Prometheus)</li>\n\
             <li><a href=\"/status\">Status</a> (JSON)</li>\n\
             <li><a href=\"/healthz\">Health</a>, <a href=\"/readyz\">readiness</a></li>\n</ul>\n"
        );
        self.exporters_table(&mut out);
        self.manifest_errors_list(&mut out);
        out.push_str("</body>\n</html>\n");
        out
    }

    fn exporters_table(&self, out: &mut String) {
        let _ = writeln!(out, "<h2>Exporters ({})</h2>", self.exporters.len());
        if self.exporters.is_empty() {
            out.push_str("<p>No exporters are loaded.</p>\n");
            return;
        }
        out.push_str(
            "<table>\n<thead><tr><th>Exporter</th><th>State</th><th>Programs attached</th>\
             <th>Series</th><th>Last error</th>",
        );
        if self.dump {
            out.push_str("<th>Maps</th>");
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for exporter in self.exporters {
            self.exporter_row(out, exporter);
        }
        out.push_str("</tbody>\n</table>\n");
    }

    fn exporter_row(&self, out: &mut String, exporter: &SlotStatus) {
        let count = |n: Option<usize>| n.map_or_else(|| "–".to_owned(), |n| n.to_string());
        let _ = write!(
            out,
            "<tr><td>{name}</td><td class=\"{state}\">{state}</td><td class=\"n\">{programs}</td>\
             <td class=\"n\">{series}</td><td class=\"error\">",
            name = Text(&exporter.name),
            state = Text(exporter.state),
            programs = count(exporter.programs_attached),
            series = count(exporter.series),
        );
        match &exporter.error {
            Some(error) => {
                let _ = write!(out, "{}", Text(error));
            }
            None => out.push_str("none"),
        }
        // `attachPolicy: BestEffort` runs without the programs that failed.
        for program in exporter
            .programs
            .iter()
            .filter(|p| p.state == ProgramState::Failed)
        {
            let _ = write!(
                out,
                "<br>program {} not attached: {}",
                Text(&program.name),
                Text(program.error.as_deref().unwrap_or("unknown error"))
            );
        }
        if let Some(reload) = &exporter.reload_error {
            let _ = write!(
                out,
                "<br>reload failed, the previous version serves: {}",
                Text(reload)
            );
        }
        out.push_str("</td>");
        if self.dump {
            if exporter.state == "running" {
                let _ = write!(
                    out,
                    "<td><a href=\"/debug/dump/{}\">map dump</a></td>",
                    PathSegment(&exporter.name)
                );
            } else {
                out.push_str("<td>–</td>");
            }
        }
        out.push_str("</tr>\n");
    }

    fn manifest_errors_list(&self, out: &mut String) {
        if self.manifest_errors.is_empty() {
            return;
        }
        let _ = write!(
            out,
            "<h2>Manifest errors ({})</h2>\n<ul>\n",
            self.manifest_errors.len()
        );
        for error in self.manifest_errors {
            let _ = writeln!(out, "<li class=\"error\">{}</li>", Text(error));
        }
        out.push_str("</ul>\n");
    }
}

#[cfg(test)]
mod tests;
