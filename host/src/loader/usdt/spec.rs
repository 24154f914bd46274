//! Spec ids: each distinct (arguments, cookie) of an object's USDT sites is
//! encoded once as a `struct __bpf_usdt_spec` value and given the next free
//! id, which the site's uprobe carries as its BPF cookie. All USDT programs
//! of an object share its `__bpf_usdt_specs` map, so the table is per object.

use super::args::{Arg, Location};
use super::layout::SpecLayout;

const ARG_CONST: u8 = 0;
const ARG_REG: u8 = 1;
const ARG_REG_DEREF: u8 = 2;
const ARG_SIB: u8 = 3;

/// Encodes a spec value. Errors name what the layout cannot hold.
pub fn encode(layout: SpecLayout, args: &[Arg], cookie: u64) -> Result<Vec<u8>, String> {
    if args.len() > SpecLayout::MAX_ARGS {
        return Err(format!(
            "{} arguments, usdt.bpf.h reads at most {}",
            args.len(),
            SpecLayout::MAX_ARGS
        ));
    }
    let mut value = vec![0u8; SpecLayout::VALUE_SIZE];
    for (i, arg) in args.iter().enumerate() {
        let at = i * SpecLayout::ARG_SIZE;
        let slot = &mut value[at..at + SpecLayout::ARG_SIZE];
        let (arg_type, val_off, reg_off) = match arg.location {
            Location::Const(value) => (ARG_CONST, value, 0),
            Location::Reg { reg_off } => (ARG_REG, 0, reg_off),
            Location::Deref { reg_off, offset } => (ARG_REG_DEREF, offset, reg_off),
            Location::Sib {
                reg_off,
                index_off,
                scale_shift,
                offset,
            } => {
                if !layout.sib {
                    return Err(
                        "base+index*scale arguments need libbpf 1.5+'s usdt.bpf.h".to_owned()
                    );
                }
                // idx_reg_off:12 then scale_bitshift:4, after the 8-bit type.
                let packed = (index_off & 0xfff) | (u16::from(scale_shift) << 12);
                slot[9..11].copy_from_slice(&packed.to_le_bytes());
                (ARG_SIB, offset, reg_off)
            }
        };
        slot[0..8].copy_from_slice(&val_off.to_le_bytes());
        // A 4-byte enum in the older layout, 8 bits in the newer: either
        // way the low byte, the others zero.
        slot[8] = arg_type;
        slot[12..14].copy_from_slice(&reg_off.to_le_bytes());
        slot[14] = u8::from(arg.signed);
        slot[15] = arg.bitshift();
    }
    value[SpecLayout::COOKIE_AT..SpecLayout::COOKIE_AT + 8].copy_from_slice(&cookie.to_le_bytes());
    let count = args.len() as u16;
    value[SpecLayout::ARG_CNT_AT..SpecLayout::ARG_CNT_AT + 2].copy_from_slice(&count.to_le_bytes());
    Ok(value)
}

/// The spec values of one object, by id.
#[derive(Debug, Default)]
pub struct SpecTable {
    values: Vec<Vec<u8>>,
}

impl SpecTable {
    /// The id `value` already has.
    pub fn find(&self, value: &[u8]) -> Option<u32> {
        let id = self.values.iter().position(|v| v == value)?;
        u32::try_from(id).ok()
    }

    /// The id the next new value gets; `None` when it would not fit
    /// `max_entries`.
    pub fn next_id(&self, max_entries: u32) -> Option<u32> {
        u32::try_from(self.values.len())
            .ok()
            .filter(|&id| id < max_entries)
    }

    /// Records `value` under [`SpecTable::next_id`], once it is in the map.
    pub fn push(&mut self, value: Vec<u8>) {
        self.values.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::usdt::args::{Arch, parse};

    const OLD: SpecLayout = SpecLayout { sib: false };

    #[test]
    fn arguments_are_encoded_as_libbpf_writes_them() {
        let args = parse(Arch::X86_64, "-4@$-9 8@%rdi -2@-16(%rbp)").expect("args");
        let value = encode(OLD, &args, 0x1234).expect("encode");
        assert_eq!(value.len(), 208);
        let slot = |i: usize| &value[i * 16..i * 16 + 16];
        // val_off = -9, type CONST, reg_off 0, signed, shift 32.
        let mut constant = (-9i64).to_le_bytes().to_vec();
        constant.extend([0, 0, 0, 0, 0, 0, 1, 32]);
        assert_eq!(slot(0), constant);
        // val_off 0, type REG, reg_off 112 (di), unsigned, shift 0.
        assert_eq!(slot(1), [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 112, 0, 0, 0]);
        let mut deref = (-16i64).to_le_bytes().to_vec();
        deref.extend([2, 0, 0, 0, 32, 0, 1, 48]);
        assert_eq!(slot(2), deref);
        assert!(value[48..192].iter().all(|&b| b == 0));
        assert_eq!(value[192..200], 0x1234u64.to_le_bytes());
        assert_eq!(value[200..202], 3u16.to_le_bytes());
    }

    #[test]
    fn sib_arguments_need_the_newer_layout() {
        let args = parse(Arch::X86_64, "-4@8(%rbx,%rcx,4)").expect("args");
        let err = encode(OLD, &args, 0).expect_err("old header");
        assert_eq!(
            err,
            "base+index*scale arguments need libbpf 1.5+'s usdt.bpf.h"
        );
        let value = encode(SpecLayout { sib: true }, &args, 0).expect("new header");
        // type 3, idx_reg_off 0x58 (cx, 88) | scale_bitshift 2 << 12, reg_off 40 (bx).
        assert_eq!(value[8], 3);
        assert_eq!(value[9..11], (0x58u16 | 2 << 12).to_le_bytes());
        assert_eq!(value[12..14], 40u16.to_le_bytes());
    }

    #[test]
    fn identical_specs_share_an_id_and_ids_stop_at_the_map_size() {
        let mut table = SpecTable::default();
        let a = encode(OLD, &[], 1).expect("a");
        let b = encode(OLD, &[], 2).expect("b");
        assert_eq!((table.find(&a), table.next_id(2)), (None, Some(0)));
        table.push(a.clone());
        assert_eq!((table.find(&b), table.next_id(2)), (None, Some(1)));
        table.push(b.clone());
        assert_eq!((table.find(&a), table.find(&b)), (Some(0), Some(1)));
        assert_eq!(table.next_id(2), None, "the map is full");
        // A value not pushed (its map write failed) has no id.
        assert_eq!(table.find(&encode(OLD, &[], 3).expect("c")), None);
    }

    #[test]
    fn more_than_twelve_arguments_are_refused() {
        let args = parse(Arch::X86_64, &["8@%rax"; 13].join(" ")).expect("args");
        assert!(encode(OLD, &args, 0).is_err());
    }
}
