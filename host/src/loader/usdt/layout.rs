//! The layout of libbpf's `struct __bpf_usdt_spec`, the value of the
//! `__bpf_usdt_specs` map, read from the object's BTF.
//!
//! Two layouts are known, both 208 bytes: libbpf 1.1–1.4's, where
//! `arg_type` is a 4-byte enum, and 1.5+'s, which packs `arg_type` into 8
//! bits beside `idx_reg_off` and `scale_bitshift` for SIB arguments. Values
//! of the first three argument types are the same bytes in both; only the
//! newer header reads SIB arguments. An object whose BTF lacks the structs
//! is taken as the older layout when the value size fits it.

use super::super::rewrite::{BtfLayout, Sections, btf_kind, cstr, get_u32, type_positions};

const BTF_KIND_ARRAY: u32 = 3;
const BTF_KIND_STRUCT: u32 = 4;
/// `sizeof(struct __bpf_usdt_spec)` in every known layout.
const SPEC_SIZE: usize = 208;
const ARG_SIZE: usize = 16;
const MAX_ARGS: usize = 12;

/// A spec value layout bpfhost can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecLayout {
    /// Whether `arg_type` is 8 bits followed by `idx_reg_off:12` and
    /// `scale_bitshift:4` (libbpf 1.5+), so SIB arguments can be written.
    pub sib: bool,
}

impl SpecLayout {
    pub const VALUE_SIZE: usize = SPEC_SIZE;
    pub const MAX_ARGS: usize = MAX_ARGS;
    pub const ARG_SIZE: usize = ARG_SIZE;
    /// Offsets of `usdt_cookie` and `arg_cnt`.
    pub const COOKIE_AT: usize = MAX_ARGS * ARG_SIZE;
    pub const ARG_CNT_AT: usize = Self::COOKIE_AT + 8;

    /// The layout of `elf`'s spec structs, given the map's value size.
    pub fn read(elf: &[u8], value_size: u32) -> Result<Self, String> {
        if value_size as usize != SPEC_SIZE {
            return Err(format!(
                "__bpf_usdt_specs values are {value_size} bytes, not {SPEC_SIZE}"
            ));
        }
        let Some(structs) = Structs::read(elf) else {
            return Ok(Self { sib: false });
        };
        let (Some(spec), Some(arg)) = (
            structs.get("__bpf_usdt_spec"),
            structs.get("__bpf_usdt_arg_spec"),
        ) else {
            return Ok(Self { sib: false });
        };
        classify(spec, arg)
    }
}

/// Which known layout the two structs are.
fn classify(spec: &Struct, arg: &Struct) -> Result<SpecLayout, String> {
    let expected_spec = [
        Member::plain("args", 0),
        Member::plain("usdt_cookie", SpecLayout::COOKIE_AT * 8),
        Member::plain("arg_cnt", SpecLayout::ARG_CNT_AT * 8),
    ];
    if spec.size != SPEC_SIZE || spec.members != expected_spec || spec.args_len != Some(MAX_ARGS) {
        return Err(format!("struct __bpf_usdt_spec is {spec:?}"));
    }
    let tail = [
        Member::plain("reg_off", 96),
        Member::plain("arg_signed", 112),
        Member::plain("arg_bitshift", 120),
    ];
    let legacy = [
        &[Member::plain("val_off", 0), Member::plain("arg_type", 64)][..],
        &tail,
    ]
    .concat();
    let sib = [
        &[
            Member::plain("val_off", 0),
            Member::bits("arg_type", 64, 8),
            Member::bits("idx_reg_off", 72, 12),
            Member::bits("scale_bitshift", 84, 4),
        ][..],
        &tail,
    ]
    .concat();
    // The reserved byte of the newer layout is an anonymous bitfield or
    // a named one, depending on the compiler: leave it out.
    let members: Vec<Member> = arg
        .members
        .iter()
        .filter(|m| !m.name.is_empty() && m.name != "__reserved")
        .cloned()
        .collect();
    match () {
        () if arg.size == ARG_SIZE && members == legacy => Ok(SpecLayout { sib: false }),
        () if arg.size == ARG_SIZE && members == sib => Ok(SpecLayout { sib: true }),
        () => Err(format!("struct __bpf_usdt_arg_spec is {arg:?}")),
    }
}

/// A struct member: name, bit offset, bitfield size (0 when not one).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    name: String,
    bit_offset: usize,
    bits: usize,
}

impl Member {
    fn plain(name: &str, bit_offset: usize) -> Self {
        Self::bits(name, bit_offset, 0)
    }

    fn bits(name: &str, bit_offset: usize, bits: usize) -> Self {
        Self {
            name: name.to_owned(),
            bit_offset,
            bits,
        }
    }
}

#[derive(Debug)]
struct Struct {
    size: usize,
    members: Vec<Member>,
    /// Element count of the first member when it is an array.
    args_len: Option<usize>,
}

/// The named structs of an object's BTF.
struct Structs(Vec<(String, Struct)>);

impl Structs {
    fn read(elf: &[u8]) -> Option<Self> {
        let sections = Sections::read(elf)?;
        let layout = BtfLayout::read(elf, &sections, sections.find(elf, ".BTF")?)?;
        let btf = &elf[layout.offset..layout.offset + layout.size];
        let strings = layout.strings(elf);
        let types = type_positions(btf, &layout)?;
        let name = |at: usize| cstr(strings, get_u32(btf, at)? as usize);
        let mut structs = Vec::new();
        for &at in &types {
            if btf_kind(btf, at) != Some(BTF_KIND_STRUCT) {
                continue;
            }
            let info = get_u32(btf, at + 4)?;
            let kind_flag = info >> 31 == 1;
            let mut members = Vec::new();
            let mut args_len = None;
            for i in 0..(info & 0xffff) as usize {
                let m = at + 12 + i * 12;
                let offset = get_u32(btf, m + 8)? as usize;
                let (bit_offset, bits) = if kind_flag {
                    (offset & 0xff_ffff, offset >> 24)
                } else {
                    (offset, 0)
                };
                if i == 0 {
                    let ty = get_u32(btf, m + 4)? as usize;
                    args_len = types
                        .get(ty.checked_sub(1)?)
                        .filter(|&&t| btf_kind(btf, t) == Some(BTF_KIND_ARRAY))
                        .and_then(|&t| get_u32(btf, t + 12 + 8))
                        .map(|n| n as usize);
                }
                members.push(Member {
                    name: name(m).unwrap_or_default().to_owned(),
                    bit_offset,
                    bits,
                });
            }
            let size = get_u32(btf, at + 8)? as usize;
            structs.push((
                name(at).unwrap_or_default().to_owned(),
                Struct {
                    size,
                    members,
                    args_len,
                },
            ));
        }
        Some(Self(structs))
    }

    fn get(&self, name: &str) -> Option<&Struct> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::artifact;

    #[test]
    fn debians_libbpf_header_is_the_layout_without_sib() {
        let elf = std::fs::read(artifact("bpf/fixtures/usdt.bpf.o")).expect("fixture");
        assert_eq!(SpecLayout::read(&elf, 208), Ok(SpecLayout { sib: false }));
    }

    #[test]
    fn other_value_sizes_are_refused() {
        let elf = std::fs::read(artifact("bpf/fixtures/usdt.bpf.o")).expect("fixture");
        assert_eq!(
            SpecLayout::read(&elf, 200),
            Err("__bpf_usdt_specs values are 200 bytes, not 208".to_owned())
        );
    }

    fn spec() -> Struct {
        Struct {
            size: 208,
            members: vec![
                Member::plain("args", 0),
                Member::plain("usdt_cookie", 192 * 8),
                Member::plain("arg_cnt", 200 * 8),
            ],
            args_len: Some(12),
        }
    }

    fn arg(type_and_sib: &[Member]) -> Struct {
        let mut members = vec![Member::plain("val_off", 0)];
        members.extend_from_slice(type_and_sib);
        members.extend([
            Member::plain("reg_off", 96),
            Member::plain("arg_signed", 112),
            Member::plain("arg_bitshift", 120),
        ]);
        Struct {
            size: 16,
            members,
            args_len: None,
        }
    }

    #[test]
    fn the_newer_header_is_recognised_by_its_sib_fields() {
        let newer = arg(&[
            Member::bits("arg_type", 64, 8),
            Member::bits("idx_reg_off", 72, 12),
            Member::bits("scale_bitshift", 84, 4),
            Member::bits("__reserved", 88, 8),
        ]);
        assert_eq!(classify(&spec(), &newer), Ok(SpecLayout { sib: true }));
        let older = arg(&[Member::plain("arg_type", 64)]);
        assert_eq!(classify(&spec(), &older), Ok(SpecLayout { sib: false }));
    }

    #[test]
    fn an_unknown_layout_is_refused() {
        let moved = arg(&[Member::plain("arg_type", 72)]);
        let err = classify(&spec(), &moved).expect_err("unknown");
        assert!(
            err.starts_with("struct __bpf_usdt_arg_spec is Struct"),
            "{err}"
        );
        let mut fewer_args = spec();
        fewer_args.args_len = Some(8);
        let older = arg(&[Member::plain("arg_type", 64)]);
        assert!(classify(&fewer_args, &older).is_err());
    }
}
