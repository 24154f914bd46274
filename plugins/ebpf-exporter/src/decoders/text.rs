//! The decoders that need nothing but their input, and the number parsing
//! rules of Go's `strconv` that `ebpf_exporter`'s decoders rely on.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::Out;

/// `uint`: a little-endian (BPF's host order) unsigned integer of 1, 2, 4
/// or 8 bytes, as decimal text.
pub fn uint(input: &[u8], out: &mut impl Out) -> Result<(), String> {
    if !matches!(input.len(), 1 | 2 | 4 | 8) {
        return Err(format!("unknown value length {}", input.len()));
    }
    // Little-endian, so zero-extending to 8 bytes keeps the value.
    let mut bytes = [0u8; 8];
    bytes[..input.len()].copy_from_slice(input);
    let value = u64::from_le_bytes(bytes);
    out.push_str(itoa::Buffer::new().format(value));
    Ok(())
}

/// `string`: the bytes before the first NUL (all of them without one).
pub fn until_nul(input: &[u8]) -> &[u8] {
    match input.iter().position(|&b| b == 0) {
        Some(end) => &input[..end],
        None => input,
    }
}

/// `hex`: two lowercase hex digits per byte.
pub fn hex(input: &[u8], out: &mut impl Out) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in input {
        out.push_ascii(DIGITS[usize::from(b >> 4)]);
        out.push_ascii(DIGITS[usize::from(b & 0xf)]);
    }
}

/// `inet_ip`: Go's `net.IP.String()`. Four bytes, and sixteen that hold an
/// IPv4-mapped address (`::ffff:a.b.c.d`), print dotted; other sixteen
/// print as RFC 5952 IPv6; no bytes print `<nil>`; any other length prints
/// `?` and its hex.
pub fn inet_ip(input: &[u8], out: &mut impl Out) {
    match *input {
        [] => out.push_str("<nil>"),
        [a, b, c, d] | [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d] => {
            out.push_fmt(format_args!("{}", Ipv4Addr::new(a, b, c, d)));
        }
        _ => {
            if let Ok(v6) = <[u8; 16]>::try_from(input) {
                out.push_fmt(format_args!("{}", Ipv6Addr::from(v6)));
            } else {
                out.push_ascii(b'?');
                hex(input, out);
            }
        }
    }
}

/// `dname`: DNS wire format (each label preceded by its length) to dotted
/// text, `.` for no bytes. Every length byte becomes a dot and the first
/// dot is dropped, so trailing zero bytes each add a dot, as in
/// `ebpf_exporter`. A length that runs past the end returns the input as it
/// is.
pub fn dname(input: &[u8], out: &mut impl Out) {
    if input.is_empty() {
        out.push_ascii(b'.');
        return;
    }
    if dname_labels(input).any(|label| label.is_none()) {
        out.push_bytes(input);
        return;
    }
    for (i, label) in dname_labels(input).flatten().enumerate() {
        if i > 0 {
            out.push_ascii(b'.');
        }
        out.push_bytes(label);
    }
}

/// The labels of a DNS name in wire format; `None` for one whose length
/// runs past the end (and nothing after it).
fn dname_labels(input: &[u8]) -> impl Iterator<Item = Option<&[u8]>> {
    let mut offset = 0;
    std::iter::from_fn(move || {
        let len = usize::from(*input.get(offset)?);
        let label = input.get(offset + 1..offset + 1 + len);
        offset = if label.is_some() {
            offset + 1 + len
        } else {
            input.len()
        };
        Some(label)
    })
}

/// Go's `strconv.ParseUint(s, 10, 64)`: decimal digits only, no sign.
pub fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Go's `strconv.Atoi`: an optional `+` or `-`, then decimal digits, in
/// 64 bits.
pub fn parse_signed(text: &[u8]) -> Option<i64> {
    let digits = match text.first() {
        Some(b'+' | b'-') => &text[1..],
        _ => text,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Go's `strconv.ParseUint(s, 0, 64)`, which `ebpf_exporter` parses the
/// bucket label with: the base from the prefix (`0x` 16, `0o` or a bare
/// leading `0` 8, `0b` 2, else 10) and `_` allowed between digits.
pub fn parse_go_uint(text: &[u8]) -> Option<u64> {
    let (radix, digits) = match text {
        [] => return None,
        [b'0', prefix, _, ..] if base_prefix(*prefix).is_some() => {
            (base_prefix(*prefix)?, &text[2..])
        }
        [b'0', rest @ ..] => (8, rest),
        _ => (10, text),
    };
    let mut value: u64 = 0;
    let mut underscores = false;
    for &b in digits {
        if b == b'_' {
            underscores = true;
            continue;
        }
        let digit = char::from(b).to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
    }
    if underscores && !underscores_between_digits(text) {
        return None;
    }
    Some(value)
}

/// The radix a `0b`, `0o` or `0x` prefix letter stands for.
fn base_prefix(letter: u8) -> Option<u32> {
    match letter.to_ascii_lowercase() {
        b'b' => Some(2),
        b'o' => Some(8),
        b'x' => Some(16),
        _ => None,
    }
}

/// Go's rule for `_` in integer literals: each one follows a digit (or
/// the base prefix) and precedes a digit.
fn underscores_between_digits(text: &[u8]) -> bool {
    #[derive(PartialEq)]
    enum Last {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let (mut last, start, hex) = match text {
        [b'0', prefix, ..] if base_prefix(*prefix).is_some() => {
            (Last::Digit, 2, prefix.eq_ignore_ascii_case(&b'x'))
        }
        _ => (Last::Start, 0, false),
    };
    for &c in &text[start..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            last = Last::Digit;
        } else if c == b'_' {
            if last != Last::Digit {
                return false;
            }
            last = Last::Underscore;
        } else if last == Last::Underscore {
            return false;
        } else {
            last = Last::Other;
        }
    }
    last != Last::Underscore
}
