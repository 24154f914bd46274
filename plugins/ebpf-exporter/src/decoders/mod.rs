//! `ebpf_exporter`'s label decoders: each turns bytes into bytes, and a
//! label's chain of them turns its key bytes into the label value.
//!
//! The first decoder of a chain reads the label's `size` bytes of the key;
//! every later one reads what the one before produced (so `errno` and
//! `syscall` read the decimal text `uint` makes). The last decoder of a
//! chain writes the label value where the caller wants it, the ones before
//! alternate between two buffers ([`Scratch`]), so decoding a label
//! allocates nothing once they have grown. The decoders that need the
//! host (`errno`, `syscall`, `ifname`, `ksym`, `kstack`, `cgroup`,
//! `majorminor` and the `pci_*` ones) live in [`lookups`] with their
//! caches.

pub mod lookups;
pub(crate) mod text;

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io::Write as _;

use regex_lite::Regex;

use crate::config::raw::RawDecoder;
use crate::problem::Problem;
pub use lookups::Lookups;

/// Every decoder name `ebpf_exporter` v2.5 knows.
pub const KNOWN: &[&str] = &[
    "cgroup",
    "dname",
    "errno",
    "hex",
    "ifname",
    "inet_ip",
    "kstack",
    "ksym",
    "majorminor",
    "pci_class",
    "pci_device",
    "pci_subclass",
    "pci_vendor",
    "regexp",
    "static_map",
    "string",
    "syscall",
    "uint",
];

/// One decoder of a label's chain, with its settings.
#[derive(Debug)]
pub enum Step {
    /// Little-endian 1, 2, 4 or 8-byte unsigned integer, as decimal text.
    Uint,
    /// Up to the first NUL.
    String,
    /// Lowercase hex of every byte.
    Hex,
    /// An IPv4 or IPv6 address as Go's `net.IP` prints it.
    InetIp,
    /// A DNS name in wire format (length-prefixed labels), dotted.
    Dname,
    StaticMap(StaticMap),
    Regexp(Regexps),
    /// Decimal errno → `ENOENT`, or `unknown:N`.
    Errno,
    /// Decimal syscall number → `openat`, or `unknown_syscall:N`.
    Syscall,
    /// 4-byte ifindex → `eth0`, or `unknown:N`.
    Ifname,
    /// 8-byte address of a kernel function's start → its name, or
    /// `unknown_addr:0x…`.
    Ksym,
    /// Array of 8-byte addresses, up to the first 0 → one symbol per line,
    /// `??` for an unknown one.
    Kstack,
    /// Decimal cgroup id → `/sys/fs/cgroup/…`, or `unknown_cgroup_id:N`.
    Cgroup,
    /// 4-byte `dev_t` → `sda`, or `unknown:MAJ:MIN`.
    Majorminor,
    /// Decimal PCI vendor id → its name, or `unknown pci vendor: 0x…`.
    PciVendor,
    /// Decimal `vendor << 16 | device` → its name, or `unknown pci device: 0x…`.
    PciDevice,
    /// Decimal PCI class → its name, or `unknown pci class: 0x…`.
    PciClass,
    /// Decimal `class << 8 | subclass` → its name, or `unknown pci …`.
    PciSubclass,
}

/// `static_map`: input text → mapped text.
#[derive(Debug)]
pub struct StaticMap {
    /// `None` when the config has no `static_map` at all.
    map: Option<HashMap<Box<[u8]>, Box<str>>>,
    allow_unknown: bool,
}

/// `regexp`: the first expression that matches picks the output.
#[derive(Debug)]
pub struct Regexps {
    expressions: Vec<Regex>,
    /// Outcome by input: the output's range in the input (as lossy
    /// UTF-8), or `None` to skip.
    /// Inputs repeat across entries and scrapes (command names, paths),
    /// and matching is pure, so it is kept until it grows too big.
    seen: HashMap<Box<[u8]>, Option<(usize, usize)>>,
}

/// Most distinct inputs a `regexp` decoder remembers before it starts over.
const REGEXP_CACHE: usize = 16_384;

/// Whether the label set goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Keep,
    /// A `regexp` decoder matched nothing: `ebpf_exporter` drops the whole
    /// label set (`ErrSkipLabelSet`).
    Skip,
}

/// A decoder could not decode its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub decoder: &'static str,
    pub message: String,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "decoder `{}`: {}", self.decoder, self.message)
    }
}

impl Step {
    /// The decoder a config entry names, with its settings checked.
    /// `input` is the label's size when this decoder reads the key bytes
    /// (it is the first of its chain): sizes it could not read are refused
    /// here rather than at every scrape.
    pub fn new(raw: RawDecoder, input: Option<usize>) -> Result<Self, Problem> {
        let name = raw.name.as_str();
        let sized = |decoder: &'static str, ok: fn(usize) -> bool, needs: &str| match input {
            Some(size) if !ok(size) => Err(Problem::Decoder {
                decoder,
                message: format!("reads {needs}, the label has size {size}"),
            }),
            _ => Ok(()),
        };
        let step = match name {
            "uint" => {
                sized("uint", |s| matches!(s, 1 | 2 | 4 | 8), "1, 2, 4 or 8 bytes")?;
                Self::Uint
            }
            "string" => Self::String,
            "hex" => Self::Hex,
            "inet_ip" => Self::InetIp,
            "dname" => Self::Dname,
            "static_map" => Self::StaticMap(StaticMap {
                map: raw.static_map.map(|map| {
                    map.into_iter()
                        .map(|(k, v)| (k.into_bytes().into(), v.into_text().into()))
                        .collect()
                }),
                allow_unknown: raw.allow_unknown,
            }),
            "regexp" => Self::Regexp(Regexps::new(raw.regexps)?),
            "errno" => Self::Errno,
            "syscall" => Self::Syscall,
            "cgroup" => Self::Cgroup,
            "ifname" => {
                sized("ifname", |s| s >= 4, "a 4-byte interface index")?;
                Self::Ifname
            }
            "ksym" => {
                sized("ksym", |s| s >= 8, "an 8-byte address")?;
                Self::Ksym
            }
            "kstack" => {
                sized("kstack", |s| s % 8 == 0, "8-byte addresses")?;
                Self::Kstack
            }
            "majorminor" => {
                sized("majorminor", |s| s >= 4, "a 4-byte device number")?;
                Self::Majorminor
            }
            "pci_vendor" => Self::PciVendor,
            "pci_device" => Self::PciDevice,
            "pci_class" => Self::PciClass,
            "pci_subclass" => Self::PciSubclass,
            _ => {
                debug_assert!(!KNOWN.contains(&name), "{name} is known but not handled");
                return Err(Problem::UnknownDecoder {
                    name: raw.name,
                    known: KNOWN,
                });
            }
        };
        Ok(step)
    }

    /// The name the config gives this decoder.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Uint => "uint",
            Self::String => "string",
            Self::Hex => "hex",
            Self::InetIp => "inet_ip",
            Self::Dname => "dname",
            Self::StaticMap(_) => "static_map",
            Self::Regexp(_) => "regexp",
            Self::Errno => "errno",
            Self::Syscall => "syscall",
            Self::Ifname => "ifname",
            Self::Ksym => "ksym",
            Self::Kstack => "kstack",
            Self::Cgroup => "cgroup",
            Self::Majorminor => "majorminor",
            Self::PciVendor => "pci_vendor",
            Self::PciDevice => "pci_device",
            Self::PciClass => "pci_class",
            Self::PciSubclass => "pci_subclass",
        }
    }

    /// Decodes `input`, appending the result to `out`.
    pub fn apply(
        &mut self,
        input: &[u8],
        out: &mut impl Out,
        lookups: &mut Lookups,
    ) -> Result<Flow, StepError> {
        let fail = |message: String| StepError {
            decoder: self.name(),
            message,
        };
        match self {
            Self::Uint => text::uint(input, out).map_err(fail)?,
            Self::String => out.push_bytes(text::until_nul(input)),
            Self::Hex => text::hex(input, out),
            Self::InetIp => text::inet_ip(input, out),
            Self::Dname => text::dname(input, out),
            Self::StaticMap(map) => map.apply(input, out),
            Self::Regexp(regexps) => return Ok(regexps.apply(input, out)),
            Self::Errno => lookups.errno(input, out).map_err(fail)?,
            Self::Syscall => lookups.syscall(input, out).map_err(fail)?,
            Self::Ifname => lookups.ifname(input, out).map_err(fail)?,
            Self::Ksym => lookups.ksym(input, out).map_err(fail)?,
            Self::Kstack => lookups.kstack(input, out).map_err(fail)?,
            Self::Cgroup => lookups.cgroup(input, out).map_err(fail)?,
            Self::Majorminor => lookups.majorminor(input, out).map_err(fail)?,
            Self::PciVendor => lookups.pci_vendor(input, out).map_err(fail)?,
            Self::PciDevice => lookups.pci_device(input, out).map_err(fail)?,
            Self::PciClass => lookups.pci_class(input, out).map_err(fail)?,
            Self::PciSubclass => lookups.pci_subclass(input, out).map_err(fail)?,
        }
        Ok(Flow::Keep)
    }
}

impl StaticMap {
    fn apply(&self, input: &[u8], out: &mut impl Out) {
        let Some(map) = &self.map else {
            out.push_str("empty mapping");
            return;
        };
        match map.get(input) {
            Some(value) => out.push_str(value),
            None if self.allow_unknown => out.push_bytes(input),
            None => {
                out.push_str("unknown:");
                out.push_bytes(input);
            }
        }
    }
}

impl Regexps {
    fn new(regexps: Option<Vec<String>>) -> Result<Self, Problem> {
        let problem = |message| Problem::Decoder {
            decoder: "regexp",
            message,
        };
        let regexps = regexps.ok_or_else(|| problem("no regexps defined in config".into()))?;
        let expressions = regexps
            .iter()
            .map(|expression| {
                // Go's RE2 classes (`\d`, `\w`, `\s`, `\b`) are ASCII-only,
                // as `regex-lite`'s are.
                Regex::new(expression)
                    .map_err(|e| problem(format!("error compiling regexp `{expression}`: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            expressions,
            seen: HashMap::new(),
        })
    }

    /// Go's `FindSubmatch` per expression: with no group the whole match
    /// is the output, with one group that group (empty when it took no
    /// part); an expression with more groups never produces an output.
    fn apply(&mut self, input: &[u8], out: &mut impl Out) -> Flow {
        // Go matches invalid UTF-8 as U+FFFD, as the lossy text does.
        let text = String::from_utf8_lossy(input);
        let outcome = if let Some(outcome) = self.seen.get(input) {
            *outcome
        } else {
            let outcome = self.first_match(&text);
            if self.seen.len() >= REGEXP_CACHE {
                self.seen.clear();
            }
            self.seen.insert(input.into(), outcome);
            outcome
        };
        match outcome {
            Some((start, end)) => {
                out.push_str(&text[start..end]);
                Flow::Keep
            }
            None => Flow::Skip,
        }
    }

    fn first_match(&self, input: &str) -> Option<(usize, usize)> {
        self.expressions.iter().find_map(|re| {
            let captures = re.captures(input)?;
            match captures.len() {
                1 => captures.get(0).map(|m| (m.start(), m.end())),
                2 => Some(captures.get(1).map_or((0, 0), |m| (m.start(), m.end()))),
                _ => None,
            }
        })
    }
}

/// Where a decoder writes: bytes for the next decoder of its chain, or the
/// label value's text (which must be UTF-8: bytes that are not are
/// replaced, as Prometheus label values are text).
pub trait Out {
    fn push_str(&mut self, text: &str);
    fn push_bytes(&mut self, bytes: &[u8]);
    fn push_ascii(&mut self, byte: u8);
    fn push_fmt(&mut self, args: fmt::Arguments<'_>);
}

impl Out for Vec<u8> {
    fn push_str(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn push_ascii(&mut self, byte: u8) {
        self.push(byte);
    }

    fn push_fmt(&mut self, args: fmt::Arguments<'_>) {
        _ = self.write_fmt(args);
    }
}

impl Out for String {
    fn push_str(&mut self, text: &str) {
        self.push_str(text);
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.push_str(text),
            Err(_) => self.push_str(&String::from_utf8_lossy(bytes)),
        }
    }

    fn push_ascii(&mut self, byte: u8) {
        self.push(char::from(byte));
    }

    fn push_fmt(&mut self, args: fmt::Arguments<'_>) {
        _ = self.write_fmt(args);
    }
}

/// The two buffers a chain's inner decoders alternate between, kept
/// across labels.
#[derive(Debug, Default)]
pub struct Scratch {
    current: Vec<u8>,
    next: Vec<u8>,
}

/// Runs a label's chain on its key bytes, appending the label value to
/// `out`: the last decoder writes there itself, so a one-decoder chain
/// (most of them) copies nothing in between. [`Flow::Skip`] when a
/// decoder drops the label set (what `out` got is then meaningless).
pub fn run(
    steps: &mut [Step],
    input: &[u8],
    scratch: &mut Scratch,
    lookups: &mut Lookups,
    out: &mut impl Out,
) -> Result<Flow, StepError> {
    let Some((last, inner)) = steps.split_last_mut() else {
        out.push_bytes(input);
        return Ok(Flow::Keep);
    };
    let Scratch { current, next } = scratch;
    let mut input = input;
    for step in inner {
        next.clear();
        if step.apply(input, next, lookups)? == Flow::Skip {
            return Ok(Flow::Skip);
        }
        std::mem::swap(current, next);
        input = current.as_slice();
    }
    last.apply(input, out, lookups)
}

#[cfg(test)]
mod tests;
