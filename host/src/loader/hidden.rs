//! Hidden global subprograms become static, as libbpf makes them.
//!
//! `__weak __hidden` helpers such as libbpf's `bpf_usdt_arg()` are global
//! functions in BTF. The verifier checks a global function on its own, with
//! only its declared argument types to go on, so `bpf_usdt_arg()`'s
//! `long *res` (possibly NULL to it) is rejected. libbpf marks hidden
//! subprograms static in the BTF it loads, so the verifier checks them in
//! their callers' context; this does the same to the ELF before aya reads it.

use object::{Object, ObjectSymbol, SymbolFlags, SymbolKind};

use super::rewrite::{BtfLayout, Sections, btf_kind, cstr, get_u32, put_u32, type_positions};

const BTF_KIND_FUNC: u32 = 12;
const STV_HIDDEN: u8 = 2;

/// Marks the BTF `FUNC` of every hidden function symbol static. Leaves the
/// ELF as it is when it has none (or no `.BTF` this can read: aya reports).
pub fn make_static(elf: &mut [u8]) {
    let hidden = hidden_functions(elf);
    if hidden.is_empty() {
        return;
    }
    let Some(sections) = Sections::read(elf) else {
        return;
    };
    let Some(layout) = sections
        .find(elf, ".BTF")
        .and_then(|btf| BtfLayout::read(elf, &sections, btf))
    else {
        return;
    };
    let btf_start = layout.offset;
    let funcs: Vec<usize> = {
        let btf = &elf[btf_start..btf_start + layout.size];
        let strings = layout.strings(elf);
        type_positions(btf, &layout)
            .unwrap_or_default()
            .into_iter()
            .filter(|&at| btf_kind(btf, at) == Some(BTF_KIND_FUNC))
            .filter(|&at| {
                get_u32(btf, at)
                    .and_then(|name| cstr(strings, name as usize))
                    .is_some_and(|name| hidden.iter().any(|h| h == name))
            })
            .collect()
    };
    for at in funcs {
        let info_at = btf_start + at + 4;
        if let Some(info) = get_u32(elf, info_at) {
            // The linkage is the FUNC's vlen: 0 static, 1 global.
            put_u32(elf, info_at, info & !0xffff);
        }
    }
}

/// Names of function symbols with hidden visibility.
fn hidden_functions(elf: &[u8]) -> Vec<String> {
    let Ok(file) = object::File::parse(elf) else {
        return Vec::new();
    };
    file.symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.is_definition())
        .filter(|s| matches!(s.flags(), SymbolFlags::Elf { st_other, .. } if st_other & 3 == STV_HIDDEN))
        .filter_map(|s| s.name().ok().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::artifact;

    fn func_linkage(elf: &[u8], name: &str) -> Option<u32> {
        let sections = Sections::read(elf)?;
        let layout = BtfLayout::read(elf, &sections, sections.find(elf, ".BTF")?)?;
        let btf = &elf[layout.offset..layout.offset + layout.size];
        type_positions(btf, &layout)?
            .into_iter()
            .filter(|&at| btf_kind(btf, at) == Some(BTF_KIND_FUNC))
            .find(|&at| {
                get_u32(btf, at).and_then(|n| cstr(layout.strings(elf), n as usize)) == Some(name)
            })
            .and_then(|at| get_u32(btf, at + 4))
            .map(|info| info & 0xffff)
    }

    #[test]
    fn libbpf_usdt_helpers_become_static_and_programs_stay_global() {
        let mut elf = std::fs::read(artifact("bpf/fixtures/usdt.bpf.o")).expect("fixture");
        assert_eq!(func_linkage(&elf, "bpf_usdt_arg"), Some(1));
        make_static(&mut elf);
        for helper in ["bpf_usdt_arg", "bpf_usdt_arg_cnt", "bpf_usdt_cookie"] {
            assert_eq!(func_linkage(&elf, helper), Some(0), "{helper}");
        }
        assert_eq!(func_linkage(&elf, "fx_usdt_args"), Some(1));
    }
}
