//! The language a decoder component was written in, told from what its
//! toolchain left in it, for the default limits that suit it
//! ([`super::Limits::for_component`]).
//!
//! What each toolchain leaves (seen on the `writes` decoders `cargo xtask
//! build-plugins` makes):
//!
//! - componentize-py links `CPython` as shared libraries: its core modules
//!   import from `libpython3.N.so`;
//! - componentize-js names the language in the component's `producers`
//!   section: `language` `JavaScript` (and `processed-by` `ComponentizeJS`);
//!   its engine's modules say C11, C++ and Rust, so JavaScript wins;
//! - clang says `language` `C99` (or `C11`...) in the main module's
//!   `producers`, and wit-bindgen's C generator `processed-by`
//!   `wit-bindgen-c`; the WASI preview1 adapter beside it is Rust, so C
//!   wins over Rust;
//! - Rust: `processed-by` `wit-bindgen-rust`, or `language` `Rust`.
//!
//! Anything else is [`SourceLanguage::Unknown`] and gets the defaults of
//! compiled code. A manifest's own limits always win over these defaults.

use std::time::Duration;

/// The language of a component's guest code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceLanguage {
    Rust,
    C,
    Python,
    JavaScript,
    Unknown,
}

impl SourceLanguage {
    /// The language of `wasm`, a component or core module; `Unknown` when
    /// nothing in it says (or it does not parse: loading it will say why).
    pub fn of(wasm: &[u8]) -> Self {
        let mut seen = Seen::default();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            let Ok(payload) = payload else {
                break;
            };
            match payload {
                wasmparser::Payload::ImportSection(imports) => {
                    for import in imports.into_imports().flatten() {
                        if import.module.starts_with("libpython3") {
                            seen.saw(Self::Python);
                        }
                    }
                }
                wasmparser::Payload::CustomSection(section) => {
                    if let wasmparser::KnownCustom::Producers(producers) = section.as_known() {
                        seen.producers(producers);
                    }
                }
                _ => {}
            }
        }
        seen.language()
    }

    /// Linear memory an instance may grow to when the manifest sets none:
    /// interpreters hold their heap, runtime and the decoded objects in
    /// it (measured: the `writes` decoder after decoding 100k entries,
    /// Python 46.5 MiB, JavaScript 139 MiB, Rust 12.2 MiB).
    pub fn default_memory_bytes(self) -> usize {
        match self {
            Self::Python | Self::JavaScript => 256 << 20,
            Self::Rust | Self::C | Self::Unknown => 64 << 20,
        }
    }

    /// Longest one call may run when the manifest sets none: interpreted
    /// decoding is ~45x (Python) to ~105x (JavaScript) slower than Rust's
    /// (100k entries: 0.6 s and 1.5 s against 14 ms).
    pub fn default_deadline(self) -> Duration {
        match self {
            Self::Python | Self::JavaScript => Duration::from_secs(5),
            Self::Rust | Self::C | Self::Unknown => Duration::from_secs(2),
        }
    }
}

impl std::fmt::Display for SourceLanguage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rust => "Rust",
            Self::C => "C",
            Self::Python => "Python",
            Self::JavaScript => "JavaScript",
            Self::Unknown => "unknown",
        })
    }
}

/// The strongest sign found so far: Python over JavaScript over C over
/// Rust (each toolchain embeds runtimes written in the languages after it).
#[derive(Debug, Default)]
struct Seen(Option<SourceLanguage>);

impl Seen {
    fn rank(language: SourceLanguage) -> u8 {
        match language {
            SourceLanguage::Unknown => 0,
            SourceLanguage::Rust => 1,
            SourceLanguage::C => 2,
            SourceLanguage::JavaScript => 3,
            SourceLanguage::Python => 4,
        }
    }

    fn saw(&mut self, language: SourceLanguage) {
        if self
            .0
            .is_none_or(|best| Self::rank(language) > Self::rank(best))
        {
            self.0 = Some(language);
        }
    }

    fn producers(&mut self, producers: wasmparser::ProducersSectionReader<'_>) {
        for field in producers.into_iter().flatten() {
            for value in field.values.into_iter().flatten() {
                match (field.name, value.name) {
                    ("language", "JavaScript") | ("processed-by", "ComponentizeJS") => {
                        self.saw(SourceLanguage::JavaScript);
                    }
                    ("language", name) if name.starts_with('C') && !name.starts_with("C_plus") => {
                        self.saw(SourceLanguage::C);
                    }
                    ("processed-by", "wit-bindgen-c") => self.saw(SourceLanguage::C),
                    ("language", "Rust") | ("processed-by", "wit-bindgen-rust") => {
                        self.saw(SourceLanguage::Rust);
                    }
                    _ => {}
                }
            }
        }
    }

    fn language(&self) -> SourceLanguage {
        self.0.unwrap_or(SourceLanguage::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::artifact;

    /// `bytes` prefixed with their length (LEB128).
    fn vec(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut n = bytes.len();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(bytes);
        out
    }

    /// A core module with one `producers` field and optionally one
    /// function import from `import_from`.
    fn module(field: &str, value: &str, import_from: Option<&str>) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        if let Some(from) = import_from {
            // Type 0: () -> ().
            wasm.push(1);
            wasm.extend(vec(&[1, 0x60, 0, 0]));
            let mut import = vec![1];
            import.extend(vec(from.as_bytes()));
            import.extend(vec(b"f"));
            import.extend([0, 0]);
            wasm.push(2);
            wasm.extend(vec(&import));
        }
        let mut producers = vec(b"producers");
        producers.push(1);
        producers.extend(vec(field.as_bytes()));
        producers.push(1);
        producers.extend(vec(value.as_bytes()));
        producers.extend(vec(b"1.0"));
        wasm.push(0);
        wasm.extend(vec(&producers));
        wasm
    }

    #[test]
    fn each_toolchain_is_recognised_by_what_it_leaves() {
        let cases = [
            (
                module("language", "JavaScript", None),
                SourceLanguage::JavaScript,
            ),
            (
                module("processed-by", "ComponentizeJS", None),
                SourceLanguage::JavaScript,
            ),
            (module("language", "C11", None), SourceLanguage::C),
            (
                module("processed-by", "wit-bindgen-c", None),
                SourceLanguage::C,
            ),
            (module("language", "Rust", None), SourceLanguage::Rust),
            (
                module("processed-by", "wit-bindgen-rust", None),
                SourceLanguage::Rust,
            ),
            (
                module("language", "C_plus_plus_14", None),
                SourceLanguage::Unknown,
            ),
            (
                module("processed-by", "wit-component", Some("libpython3.14.so")),
                SourceLanguage::Python,
            ),
            (
                module("processed-by", "wit-component", Some("env")),
                SourceLanguage::Unknown,
            ),
        ];
        for (wasm, language) in cases {
            assert_eq!(SourceLanguage::of(&wasm), language);
        }
        assert_eq!(SourceLanguage::of(b"not wasm"), SourceLanguage::Unknown);
    }

    #[test]
    fn the_in_repo_decoders_are_told_apart() {
        for (path, language) in [
            ("plugins/writes.wasm", SourceLanguage::Rust),
            ("plugins/writes-c.wasm", SourceLanguage::C),
            ("plugins/writes-py.wasm", SourceLanguage::Python),
            ("plugins/writes-js.wasm", SourceLanguage::JavaScript),
        ] {
            let wasm = std::fs::read(artifact(path)).expect(path);
            assert_eq!(SourceLanguage::of(&wasm), language, "{path}");
        }
    }

    #[test]
    fn interpreters_get_more_memory_and_time_than_compiled_code() {
        for language in [SourceLanguage::Python, SourceLanguage::JavaScript] {
            assert_eq!(language.default_memory_bytes(), 256 << 20);
            assert_eq!(language.default_deadline(), Duration::from_secs(5));
        }
        for language in [
            SourceLanguage::Rust,
            SourceLanguage::C,
            SourceLanguage::Unknown,
        ] {
            assert_eq!(language.default_memory_bytes(), 64 << 20);
            assert_eq!(language.default_deadline(), Duration::from_secs(2));
        }
    }

    #[test]
    fn a_components_limits_are_its_languages_defaults() {
        let python = std::fs::read(artifact("plugins/writes-py.wasm")).expect("writes-py");
        let limits = super::super::Limits::for_component(&python);
        assert_eq!(limits.memory_bytes, 256 << 20);
        assert_eq!(limits.deadline, Duration::from_secs(5));
        let unknown = super::super::Limits::for_component(b"");
        let default = super::super::Limits::default();
        assert_eq!(
            (unknown.memory_bytes, unknown.deadline),
            (default.memory_bytes, default.deadline)
        );
    }
}
