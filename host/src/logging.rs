//! Where the agent's log goes and how it looks: text lines for people,
//! JSON lines for log pipelines (`--log-format`), filtered by `--log-level`
//! or `RUST_LOG`. Either way, one event is one line on standard error, and
//! colour escapes are written only to a terminal, unless `NO_COLOR` is set.

use std::ffi::OsStr;
use std::io::{self, IsTerminal as _, Write};
use std::str::FromStr;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `TIMESTAMP LEVEL target: message key=value ...`
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message`,
    /// the event's fields, and `span` with the current span's fields.
    Json,
}

/// Which events are logged: a level (`info`) or `RUST_LOG`-style
/// directives (`info,bpfhost::cluster=debug`), checked when parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter(String);

/// A `--log-level` that is neither a level nor filter directives.
#[derive(Debug, thiserror::Error)]
pub enum LogFilterError {
    /// A lone word is a level: as a directive it would name a target and
    /// silence everything else, which a typo (`inf`) must not do.
    #[error("unknown level {0:?} (error, warn, info, debug, trace or off)")]
    Level(String),
    #[error(transparent)]
    Directives(#[from] tracing_subscriber::filter::ParseError),
}

impl FromStr for LogFilter {
    type Err = LogFilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lone_word = !s.contains([',', '=', '[']);
        if lone_word && (s.trim().is_empty() || s.parse::<LevelFilter>().is_err()) {
            return Err(LogFilterError::Level(s.to_owned()));
        }
        EnvFilter::builder().parse(s)?;
        Ok(Self(s.to_owned()))
    }
}

impl LogFilter {
    fn env_filter(&self) -> EnvFilter {
        // Parsed once already in `from_str`.
        EnvFilter::builder()
            .parse(&self.0)
            .unwrap_or_else(|_| EnvFilter::new("info"))
    }
}

/// The filter in force: `RUST_LOG` when it is set and valid, else `level`;
/// with a warning to log when `RUST_LOG` was set but unusable.
fn filter(level: &LogFilter, rust_log: Option<&str>) -> (EnvFilter, Option<String>) {
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        None => (level.env_filter(), None),
        Some(directives) => match EnvFilter::builder().parse(directives) {
            Ok(filter) => (filter, None),
            Err(e) => (
                level.env_filter(),
                Some(format!("RUST_LOG ignored ({e}); using --log-level")),
            ),
        },
    }
}

/// Whether to write colour escapes: only to a terminal, and not when
/// `NO_COLOR` is set to anything but the empty string (no-color.org).
fn use_ansi(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Sets up the process' log on standard error. Called once, first thing in
/// `main`; a subscriber already installed (a test harness's) is kept.
pub fn init(format: LogFormat, level: &LogFilter, node: Option<&str>) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let (filter, warning) = filter(level, rust_log.as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(OneLineStderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(use_ansi(
                io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .try_init(),
        LogFormat::Json => {
            let json = tracing_subscriber::fmt::format()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false);
            builder
                .with_ansi(false)
                // Span fields stored as JSON, as the JSON format reads them
                // back (the default text fields make it panic on a span).
                .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                .event_format(WithNode::new(json, node))
                .try_init()
        }
    };
    if installed.is_err() {
        return;
    }
    let _ = FORMAT.set(format);
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
}

/// A JSON event format that puts the agent's `node` on every line (a log
/// pipeline gathers many nodes' lines), before the inner format's fields.
struct WithNode<F> {
    inner: F,
    /// `"node":"NAME",` with NAME as a JSON string, or nothing.
    field: String,
}

impl<F> WithNode<F> {
    fn new(inner: F, node: Option<&str>) -> Self {
        let field = node.map_or_else(String::new, |node| {
            format!("\"node\":{},", serde_json::Value::from(node))
        });
        Self { inner, field }
    }
}

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for WithNode<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.inner.format_event(
            ctx,
            tracing_subscriber::fmt::format::Writer::new(&mut line),
            event,
        )?;
        match line.strip_prefix('{') {
            Some(rest) if !self.field.is_empty() => {
                writer.write_char('{')?;
                writer.write_str(&self.field)?;
                writer.write_str(rest)
            }
            _ => writer.write_str(&line),
        }
    }
}

/// The format [`init`] installed.
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Reports the error that ends the process, on one line: `bpfhost: ...` on
/// standard error, or an `ERROR` event in the JSON log, so that every
/// line of a JSON log parses.
pub fn fatal(error: &(dyn std::error::Error + 'static)) {
    let message = crate::error_chain(error);
    match FORMAT.get() {
        Some(LogFormat::Json) => {
            tracing::error!(target: "bpfhost", error = %message, "bpfhost stopped");
        }
        _ => eprintln!("bpfhost: {message}"),
    }
}

/// Standard error, one event per line: see [`OneLine`].
#[derive(Debug, Clone, Copy)]
struct OneLineStderr;

impl<'a> MakeWriter<'a> for OneLineStderr {
    type Writer = OneLine<io::StderrLock<'static>>;

    fn make_writer(&'a self) -> Self::Writer {
        OneLine(io::stderr().lock())
    }
}

/// Writes each buffer as one line: a line break inside it (a plugin's
/// multi-line message, a parser's listing) is written as `\n`, a final
/// one kept. The formatter hands over each event whole in one write, so
/// an event can never span lines, whatever its fields hold. JSON lines
/// have no raw line breaks to begin with.
#[derive(Debug)]
struct OneLine<W>(W);

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let (body, end) = match buf.strip_suffix(b"\n") {
            Some(body) => (body, &b"\n"[..]),
            None => (buf, &b""[..]),
        };
        let mut rest = body;
        while let Some(at) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.0.write_all(&rest[..at])?;
            self.0
                .write_all(if rest[at] == b'\n' { b"\\n" } else { b"\\r" })?;
            rest = &rest[at + 1..];
        }
        self.0.write_all(rest)?;
        self.0.write_all(end)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_line(input: &str) -> String {
        let mut out = OneLine(Vec::new());
        out.write_all(input.as_bytes()).expect("writes to a Vec");
        String::from_utf8(out.0).expect("utf-8 stays utf-8")
    }

    #[test]
    fn a_multi_line_event_is_written_on_one_line() {
        assert_eq!(
            one_line("ERROR load failed error=verifier:\n0: r1 = 0\r\n1: exit\n"),
            "ERROR load failed error=verifier:\\n0: r1 = 0\\r\\n1: exit\n"
        );
        assert_eq!(one_line("INFO serving\n"), "INFO serving\n");
        assert_eq!(one_line("no end"), "no end");
        assert_eq!(one_line(""), "");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_ansi(true, None));
        assert!(use_ansi(true, Some(OsStr::new(""))));
        assert!(!use_ansi(true, Some(OsStr::new("1"))));
        assert!(!use_ansi(false, None));
    }

    #[test]
    fn rust_log_overrides_the_level_unless_unusable() {
        let info: LogFilter = "info".parse().expect("a level");
        let (filter, warning) = filter(&info, None);
        assert_eq!((filter.to_string(), warning), ("info".to_owned(), None));
        let (filter, warning) = filter_of(&info, "  ");
        assert_eq!((filter, warning), ("info".to_owned(), None));
        let (filter, warning) = filter_of(&info, "bpfhost=debug");
        assert_eq!((filter, warning), ("bpfhost=debug".to_owned(), None));
        let (filter, warning) = filter_of(&info, "bpfhost=loud");
        assert_eq!(filter, "info");
        assert!(
            warning.is_some_and(|w| w.starts_with("RUST_LOG ignored (")),
            "an unusable RUST_LOG is reported"
        );
    }

    fn filter_of(level: &LogFilter, rust_log: &str) -> (String, Option<String>) {
        let (filter, warning) = filter(level, Some(rust_log));
        (filter.to_string(), warning)
    }

    #[test]
    fn log_levels_are_checked_when_parsed() {
        for good in ["info", "warn", "debug,kube=info", "bpfhost::agent=trace"] {
            assert!(good.parse::<LogFilter>().is_ok(), "{good}");
        }
        for bad in ["loud", "inf", "", "bpfhost=loud"] {
            assert!(bad.parse::<LogFilter>().is_err(), "{bad}");
        }
    }
}
