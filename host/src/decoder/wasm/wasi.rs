//! WASI 0.2 for decoders, granting nothing.
//!
//! Toolchains other than Rust's (componentize-py, componentize-js, C with
//! wasi-libc) emit WASI imports even for pure computation: their runtimes
//! start by asking for the environment, the clock, random bytes and stdio.
//! A decoder may therefore import WASI 0.2, and gets a WASI that answers
//! without giving anything away:
//!
//! - no preopened directories: every path resolves to nothing
//!   (`wasi:filesystem` has no root to open a file under);
//! - no environment variables, no arguments, an empty standard input;
//! - no network: TCP, UDP and name lookups are disabled and every socket
//!   address is refused;
//! - standard output and error go to the agent's log, one event a line,
//!   inside the span of the exporter that runs the decoder, with lines cut
//!   at [`MAX_LINE`] bytes and at most [`BYTES_PER_SECOND`] bytes a second
//!   per stream; the rest is dropped and counted in one warning at the end
//!   of the call;
//! - the monotonic and wall clocks and random bytes are the host's: the
//!   language runtimes need them to start (`CPython` seeds its hash function,
//!   JavaScript engines read the time), and they reveal nothing the guest
//!   could not learn from its own deadline or compute itself.
//!
//! All other limits (deadline, memory, traps, restarts) apply as to any
//! decoder. A component importing a WASI version other than 0.2.0 to
//! [`LINKED`] is refused by name.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView};

/// The WASI 0.2 release the agent links (wasmtime-wasi's): components built
/// against it or any earlier 0.2 release load.
pub const LINKED: (u64, u64, u64) = (0, 2, 12);

/// Longest line of guest output logged; the rest of the line is dropped.
pub const MAX_LINE: usize = 1024;

/// Guest output logged per stream and second; the rest is dropped.
pub const BYTES_PER_SECOND: usize = 16 * 1024;

/// The WASI state of one decoder instance.
pub(super) struct GuestWasi {
    ctx: WasiCtx,
    table: ResourceTable,
    /// The guest's stdout and stderr, as the context holds them.
    outputs: [GuestOutput; 2],
}

impl GuestWasi {
    /// A WASI that grants nothing (see the module's documentation).
    pub(super) fn new() -> Self {
        let outputs = [
            GuestOutput::new(Stream::Stdout),
            GuestOutput::new(Stream::Stderr),
        ];
        let ctx = WasiCtxBuilder::new()
            .stdout(outputs[0].clone())
            .stderr(outputs[1].clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        Self {
            ctx,
            table: ResourceTable::new(),
            outputs,
        }
    }

    /// Logs what the guest left unfinished in the call that just returned
    /// (a line without its newline, output dropped over the rate), while
    /// the caller's span still names the exporter.
    pub(super) fn end_of_call(&self) {
        for output in &self.outputs {
            output.sink().end_of_call();
        }
    }

    pub(super) fn view(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Whether `import` names a WASI interface, and if so whether the agent
/// offers it: `Some(Err(why))` for a WASI import of another version.
pub(super) fn check_import(import: &str) -> Option<Result<(), String>> {
    let rest = import.strip_prefix("wasi:")?;
    let version = rest.split_once('@').map(|(_, v)| v);
    let (major, minor, patch) = LINKED;
    let accepted = format!("WASI {major}.{minor}.0 to {major}.{minor}.{patch}");
    Some(match version.and_then(parse_version) {
        Some((ma, mi, pa)) if (ma, mi) == (major, minor) && pa <= patch => Ok(()),
        Some(_) => Err(format!(
            "{import}: this agent links {accepted}; rebuild the decoder against a WASI 0.2 \
             toolchain no newer than that"
        )),
        None => Err(format!(
            "{import}: an unversioned WASI import; this agent links {accepted}"
        )),
    })
}

fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    // Pre-release tags (`0.3.0-rc-2025-09-16`) are versions of their own.
    let mut parts = text.split('.');
    let mut next = || parts.next().and_then(|p| p.parse::<u64>().ok());
    let version = (next()?, next()?, next()?);
    Some(version)
}

/// Which stream a guest wrote to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// One stream's log: the line being written and the rate budget.
#[derive(Debug)]
struct Sink {
    stream: Stream,
    line: Vec<u8>,
    /// Bytes of the current line past [`MAX_LINE`].
    cut: usize,
    window: Instant,
    logged_in_window: usize,
    dropped_in_window: usize,
}

impl Sink {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            line: Vec::new(),
            cut: 0,
            window: Instant::now(),
            logged_in_window: 0,
            dropped_in_window: 0,
        }
    }

    fn write(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let (part, rest, ends_line) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            let room = MAX_LINE.saturating_sub(self.line.len()).min(part.len());
            self.line.extend_from_slice(&part[..room]);
            self.cut += part.len() - room;
            if ends_line {
                self.end_line();
            }
            bytes = rest;
        }
    }

    /// Logs the line written so far, if the budget allows.
    fn end_line(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.window) >= Duration::from_secs(1) {
            self.report_dropped();
            self.window = now;
            self.logged_in_window = 0;
        }
        let size = self.line.len() + self.cut + 1;
        if self.logged_in_window + size <= BYTES_PER_SECOND {
            self.logged_in_window += size;
            let text = String::from_utf8_lossy(&self.line);
            let stream = self.stream.name();
            let cut = self.cut;
            match self.stream {
                Stream::Stdout if cut == 0 => tracing::info!(stream, "decoder: {text}"),
                Stream::Stdout => tracing::info!(stream, cut, "decoder: {text}"),
                Stream::Stderr if cut == 0 => tracing::warn!(stream, "decoder: {text}"),
                Stream::Stderr => tracing::warn!(stream, cut, "decoder: {text}"),
            }
        } else {
            self.dropped_in_window += size;
        }
        self.line.clear();
        self.cut = 0;
    }

    fn report_dropped(&mut self) {
        if self.dropped_in_window > 0 {
            tracing::warn!(
                stream = self.stream.name(),
                dropped_bytes = self.dropped_in_window,
                limit = BYTES_PER_SECOND,
                "decoder wrote more than its log allows a second; the rest was dropped"
            );
            self.dropped_in_window = 0;
        }
    }
}

impl Sink {
    fn end_of_call(&mut self) {
        if !self.line.is_empty() || self.cut > 0 {
            self.end_line();
        }
        self.report_dropped();
    }
}

/// A guest's standard output or error: every stream WASI hands the guest
/// writes into the same [`Sink`].
#[derive(Clone)]
struct GuestOutput(Arc<Mutex<Sink>>);

impl GuestOutput {
    fn new(stream: Stream) -> Self {
        Self(Arc::new(Mutex::new(Sink::new(stream))))
    }

    fn sink(&self) -> std::sync::MutexGuard<'_, Sink> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, bytes: &[u8]) {
        self.sink().write(bytes);
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// What the guest may write at once; it never waits.
const WRITE_PERMIT: usize = 64 * 1024;

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        GuestOutput::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        GuestOutput::write(&self, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_0_2_up_to_the_linked_release_is_offered() {
        assert_eq!(check_import("wasi:io/streams@0.2.0"), Some(Ok(())));
        assert_eq!(check_import("wasi:cli/environment@0.2.12"), Some(Ok(())));
        assert_eq!(check_import("bpfhost:decoder/lookups@0.2.0"), None);
    }

    #[test]
    fn newer_and_older_wasi_releases_are_refused_saying_what_is_linked() {
        for import in [
            "wasi:io/streams@0.2.13",
            "wasi:io/streams@0.3.0",
            "wasi:cli/stdout@0.3.0-rc-2025-09-16",
            "wasi:io/streams@0.1.0",
            "wasi:io/streams",
        ] {
            let why = check_import(import)
                .expect("a WASI import")
                .expect_err(import);
            assert!(why.starts_with(import), "{why}");
            assert!(why.contains("WASI 0.2.0 to 0.2.12"), "{why}");
        }
    }

    #[test]
    fn lines_are_cut_and_the_rate_is_capped() {
        let mut sink = Sink::new(Stream::Stdout);
        sink.write(&vec![b'x'; MAX_LINE + 10]);
        sink.write(b"\n");
        assert_eq!(
            sink.logged_in_window,
            MAX_LINE + 10 + 1,
            "a cut line counts whole"
        );
        assert!(sink.line.is_empty() && sink.cut == 0);
        // 10 MB in one write: logged up to the budget, the rest counted.
        let line = [vec![b'y'; 99], vec![b'\n']].concat();
        let many: Vec<u8> = line.iter().copied().cycle().take(10 << 20).collect();
        sink.write(&many);
        assert!(sink.logged_in_window <= BYTES_PER_SECOND);
        assert!(
            sink.dropped_in_window >= (10 << 20) - BYTES_PER_SECOND,
            "dropped {}",
            sink.dropped_in_window
        );
    }
}
