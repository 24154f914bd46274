//! USDT argument strings (`-4@%edi 8@-16(%rbp) 4@$5`) as libbpf's BPF side
//! reads them: where each value is (a constant, a register, memory at a
//! register plus an offset), its size and signedness. Registers become
//! offsets into the kernel's `struct pt_regs`.

/// The architecture a binary's argument strings are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture of ELF `e_machine`, if bpfhost decodes it.
    pub fn from_machine(machine: u16) -> Option<Self> {
        match machine {
            object::elf::EM_X86_64 => Some(Self::X86_64),
            object::elf::EM_AARCH64 => Some(Self::Aarch64),
            _ => None,
        }
    }

    /// The architecture this agent runs on (whose `pt_regs` it knows).
    pub fn host() -> Option<Self> {
        if cfg!(target_arch = "x86_64") {
            Some(Self::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Self::Aarch64)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86-64",
            Self::Aarch64 => "arm64",
        }
    }
}

/// Where an argument's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The value itself.
    Const(i64),
    /// A register, by its offset in `pt_regs`.
    Reg { reg_off: u16 },
    /// Memory at a register's value plus an offset.
    Deref { reg_off: u16, offset: i64 },
    /// Memory at base + (index << `scale_shift`) + offset (x86 SIB addressing;
    /// only libbpf 1.5+'s `usdt.bpf.h` reads it).
    Sib {
        reg_off: u16,
        index_off: u16,
        scale_shift: u8,
        offset: i64,
    },
}

/// One argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    pub location: Location,
    /// Size in bytes: 1, 2, 4 or 8.
    pub size: u8,
    pub signed: bool,
}

impl Arg {
    /// Bits to shift out (and back, extending the sign) to widen the
    /// value to 64 bits.
    pub fn bitshift(&self) -> u8 {
        64 - 8 * self.size
    }
}

/// An argument bpfhost cannot decode: the text and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    pub arg: String,
    pub reason: String,
}

/// Parses a probe's whole argument string.
pub fn parse(arch: Arch, text: &str) -> Result<Vec<Arg>, ArgError> {
    tokens(text)
        .into_iter()
        .map(|token| {
            parse_one(arch, token).map_err(|reason| ArgError {
                arg: token.to_owned(),
                reason,
            })
        })
        .collect()
}

/// Splits on spaces outside brackets (arm64 writes `-4@[sp, 12]`).
fn tokens(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let (mut depth, mut start) = (0usize, None);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if c.is_whitespace() && depth == 0 => {
                if let Some(s) = start.take() {
                    tokens.push(&text[s..i]);
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
    }
    if let Some(s) = start {
        tokens.push(&text[s..]);
    }
    tokens
}

fn parse_one(arch: Arch, token: &str) -> Result<Arg, String> {
    let (size, location) = token.split_once('@').ok_or("no SIZE@ prefix".to_owned())?;
    let size: i8 = size.parse().map_err(|_| format!("bad size {size:?}"))?;
    let signed = size < 0;
    let bytes = size.unsigned_abs();
    if !matches!(bytes, 1 | 2 | 4 | 8) {
        return Err(format!("size {size} is not 1, 2, 4 or 8 bytes"));
    }
    let location = match arch {
        Arch::X86_64 => x86_location(location)?,
        Arch::Aarch64 => arm64_location(location)?,
    };
    Ok(Arg {
        location,
        size: bytes,
        signed,
    })
}

/// `$CONST`, `%REG`, `OFF(%REG)`, `(%REG)`, `OFF(%BASE,%INDEX,SCALE)`.
fn x86_location(text: &str) -> Result<Location, String> {
    if let Some(value) = text.strip_prefix('$') {
        return parse_i64(value)
            .map(Location::Const)
            .ok_or_else(|| format!("constant {value:?} is not a number"));
    }
    if let Some(reg) = text.strip_prefix('%') {
        return Ok(Location::Reg {
            reg_off: x86_reg(reg)?,
        });
    }
    let (offset, inner) = text
        .strip_suffix(')')
        .and_then(|t| t.split_once('('))
        .ok_or("not a constant, register or memory operand")?;
    let offset = match offset {
        "" => 0,
        o => parse_i64(o).ok_or_else(|| {
            format!("offset {o:?} is not a number (symbolic offsets are not supported)")
        })?,
    };
    let parts: Vec<&str> = inner.split(',').collect();
    let reg = |r: &str| {
        r.strip_prefix('%')
            .ok_or_else(|| format!("{r:?} is not a register"))
            .and_then(x86_reg)
    };
    match parts.as_slice() {
        [base] => Ok(Location::Deref {
            reg_off: reg(base)?,
            offset,
        }),
        [base, index, scale] => {
            let scale_shift = match *scale {
                "1" => 0,
                "2" => 1,
                "4" => 2,
                "8" => 3,
                s => return Err(format!("scale {s:?} is not 1, 2, 4 or 8")),
            };
            Ok(Location::Sib {
                reg_off: reg(base)?,
                index_off: reg(index)?,
                scale_shift,
                offset,
            })
        }
        _ => Err("memory operand is not (BASE) or (BASE,INDEX,SCALE)".to_owned()),
    }
}

/// Offsets in x86-64 `struct pt_regs`, by every name of each register.
const X86_REGS: &[(&[&str], u16)] = &[
    (&["r15", "r15d", "r15w", "r15b"], 0),
    (&["r14", "r14d", "r14w", "r14b"], 8),
    (&["r13", "r13d", "r13w", "r13b"], 16),
    (&["r12", "r12d", "r12w", "r12b"], 24),
    (&["rbp", "ebp", "bp", "bpl"], 32),
    (&["rbx", "ebx", "bx", "bl"], 40),
    (&["r11", "r11d", "r11w", "r11b"], 48),
    (&["r10", "r10d", "r10w", "r10b"], 56),
    (&["r9", "r9d", "r9w", "r9b"], 64),
    (&["r8", "r8d", "r8w", "r8b"], 72),
    (&["rax", "eax", "ax", "al"], 80),
    (&["rcx", "ecx", "cx", "cl"], 88),
    (&["rdx", "edx", "dx", "dl"], 96),
    (&["rsi", "esi", "si", "sil"], 104),
    (&["rdi", "edi", "di", "dil"], 112),
    (&["rip"], 128),
    (&["rsp", "esp", "sp", "spl"], 152),
];

fn x86_reg(name: &str) -> Result<u16, String> {
    X86_REGS
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|&(_, off)| off)
        .ok_or_else(|| format!("unknown register %{name}"))
}

/// `CONST`, `xN`/`wN`/`sp`, `[REG]`, `[REG, OFF]`.
fn arm64_location(text: &str) -> Result<Location, String> {
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let (reg, offset) = match inner.split_once(',') {
            Some((reg, offset)) => {
                let offset = offset.trim();
                let offset = parse_i64(offset.strip_prefix('#').unwrap_or(offset))
                    .ok_or_else(|| format!("offset {offset:?} is not a number"))?;
                (reg.trim(), offset)
            }
            None => (inner.trim(), 0),
        };
        return Ok(Location::Deref {
            reg_off: arm64_reg(reg)?,
            offset,
        });
    }
    if let Some(value) = parse_i64(text) {
        return Ok(Location::Const(value));
    }
    Ok(Location::Reg {
        reg_off: arm64_reg(text)?,
    })
}

/// Offsets in arm64 `struct pt_regs` (`regs[31]`, then `sp`).
fn arm64_reg(name: &str) -> Result<u16, String> {
    if name == "sp" {
        return Ok(31 * 8);
    }
    name.strip_prefix('x')
        .or_else(|| name.strip_prefix('w'))
        .and_then(|n| n.parse::<u16>().ok())
        .filter(|&n| n <= 30)
        .map(|n| n * 8)
        .ok_or_else(|| format!("unknown register {name}"))
}

fn parse_i64(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    };
    // Two's complement: `$0xffffffffffffffff` and `$-1` are the same bits.
    Some(if negative {
        0i64.wrapping_sub_unsigned(magnitude)
    } else {
        magnitude.cast_signed()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(location: Location, size: u8, signed: bool) -> Arg {
        Arg {
            location,
            size,
            signed,
        }
    }

    fn x86(text: &str) -> Vec<Arg> {
        parse(Arch::X86_64, text).expect(text)
    }

    #[test]
    fn x86_constants() {
        assert_eq!(
            x86("-4@$5 8@$-9 1@$0x1f"),
            [
                arg(Location::Const(5), 4, true),
                arg(Location::Const(-9), 8, false),
                arg(Location::Const(31), 1, false)
            ]
        );
    }

    #[test]
    fn x86_registers_of_every_width_name_the_same_slot() {
        let rdi = Location::Reg { reg_off: 112 };
        assert_eq!(
            x86("8@%rdi -4@%edi 2@%di 1@%dil"),
            [
                arg(rdi, 8, false),
                arg(rdi, 4, true),
                arg(rdi, 2, false),
                arg(rdi, 1, false)
            ]
        );
        let ax = Location::Reg { reg_off: 80 };
        assert_eq!(x86("-4@%eax 1@%al"), [arg(ax, 4, true), arg(ax, 1, false)]);
        assert_eq!(
            x86("8@%r12 -4@%r9d"),
            [
                arg(Location::Reg { reg_off: 24 }, 8, false),
                arg(Location::Reg { reg_off: 64 }, 4, true)
            ]
        );
    }

    #[test]
    fn x86_memory_operands() {
        assert_eq!(
            x86("-8@-16(%rbp) 4@(%rax) 8@0x10(%rsp) -4@8(%rip)"),
            [
                arg(
                    Location::Deref {
                        reg_off: 32,
                        offset: -16
                    },
                    8,
                    true
                ),
                arg(
                    Location::Deref {
                        reg_off: 80,
                        offset: 0
                    },
                    4,
                    false
                ),
                arg(
                    Location::Deref {
                        reg_off: 152,
                        offset: 16
                    },
                    8,
                    false
                ),
                arg(
                    Location::Deref {
                        reg_off: 128,
                        offset: 8
                    },
                    4,
                    true
                ),
            ]
        );
        assert_eq!(
            x86("-4@-8(%rbx,%rcx,4)"),
            [arg(
                Location::Sib {
                    reg_off: 40,
                    index_off: 88,
                    scale_shift: 2,
                    offset: -8
                },
                4,
                true
            )]
        );
    }

    #[test]
    fn unsupported_forms_say_which_argument_and_why() {
        let cases = [
            (
                "4@counter(%rip)",
                "offset \"counter\" is not a number (symbolic offsets are not supported)",
            ),
            ("4@%xmm0", "unknown register %xmm0"),
            ("3@%eax", "size 3 is not 1, 2, 4 or 8 bytes"),
            ("%eax", "no SIZE@ prefix"),
            ("4@(%rax,%rbx,3)", "scale \"3\" is not 1, 2, 4 or 8"),
        ];
        for (text, reason) in cases {
            let err = parse(Arch::X86_64, &format!("8@%rdi {text}")).expect_err(text);
            assert_eq!(
                err,
                ArgError {
                    arg: text.to_owned(),
                    reason: reason.to_owned()
                }
            );
        }
    }

    #[test]
    fn arm64_forms() {
        let parsed = parse(
            Arch::Aarch64,
            "8@x0 -4@[sp, 12] 8@[x1] -4@5 4@w3 8@[x29, -8]",
        )
        .expect("arm64");
        assert_eq!(
            parsed,
            [
                arg(Location::Reg { reg_off: 0 }, 8, false),
                arg(
                    Location::Deref {
                        reg_off: 248,
                        offset: 12
                    },
                    4,
                    true
                ),
                arg(
                    Location::Deref {
                        reg_off: 8,
                        offset: 0
                    },
                    8,
                    false
                ),
                arg(Location::Const(5), 4, true),
                arg(Location::Reg { reg_off: 24 }, 4, false),
                arg(
                    Location::Deref {
                        reg_off: 232,
                        offset: -8
                    },
                    8,
                    false
                ),
            ]
        );
        assert!(parse(Arch::Aarch64, "8@x31").is_err());
    }

    #[test]
    fn bitshift_widens_to_64_bits_and_no_arguments_is_fine() {
        let shifts: Vec<u8> = x86("1@%al 2@%ax 4@%eax 8@%rax")
            .iter()
            .map(Arg::bitshift)
            .collect();
        assert_eq!(shifts, [56, 48, 32, 0]);
        assert_eq!(x86(""), []);
        assert_eq!(x86("  "), []);
    }
}
