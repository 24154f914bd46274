//! `flush_interval`: a Go `time.Duration` as `ebpf_exporter`'s YAML decoder
//! (`go.yaml.in/yaml/v2`) reads one into its `config.Counter`: a string in
//! `time.ParseDuration`'s syntax (`500ms`, `30s`, `1h30m`, `1.5h`, `-2m`,
//! `0`), or an integer of nanoseconds.

use serde_json::Value;

const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // µ, MICRO SIGN
    ("\u{3bc}s", 1_000), // μ, GREEK SMALL LETTER MU
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// The duration in nanoseconds, signed as Go's is; `null` is 0 (Go's zero
/// value). The error is the message for the `flush_interval` field.
pub fn from_value(value: &Value) -> Result<i64, String> {
    match value {
        Value::Null => Ok(0),
        Value::String(text) => parse(text),
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            format!("{n} is not a whole number of nanoseconds; write a duration such as \"1m\"")
        }),
        other => Err(format!(
            "expected a duration such as \"1m\", \"30s\" or \"1h30m\", found {other}"
        )),
    }
}

/// `time.ParseDuration`: an optional sign, then one or more decimal
/// numbers (with an optional fraction), each with a unit among `ns`, `us`
/// (`µs`, `μs`), `ms`, `s`, `m`, `h`; or `0` alone.
pub fn parse(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (whole, after) = split_digits(rest);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => split_digits(after),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("missing unit in duration {text:?}"));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "unknown unit {unit:?} in duration {text:?} (expected ns, us, ms, s, m or h)"
            ));
        };
        total = whole_part(whole, scale)
            .and_then(|w| w.checked_add(fraction_part(fraction, scale)))
            .and_then(|part| total.checked_add(part))
            .filter(|&t| t <= 1 << 63)
            .ok_or_else(|| format!("duration {text:?} overflows 292 years"))?;
        rest = after;
    }
    if negative {
        // -2^63 is the one value whose magnitude is not an i64.
        Ok(0i64.wrapping_sub_unsigned(total as u64))
    } else {
        i64::try_from(total).map_err(|_| format!("duration {text:?} overflows 292 years"))
    }
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// `digits` units of `scale` nanoseconds; `None` on overflow.
fn whole_part(digits: &str, scale: u128) -> Option<u128> {
    if digits.is_empty() {
        return Some(0);
    }
    // More than 38 digits cannot fit a u128, let alone an i64.
    digits.parse::<u128>().ok()?.checked_mul(scale)
}

/// `0.digits` units of `scale` nanoseconds, truncated to whole
/// nanoseconds; digits past the nanosecond are ignored, as Go does.
fn fraction_part(digits: &str, scale: u128) -> u128 {
    let mut value: u128 = 0;
    let mut divisor: u128 = 1;
    for digit in digits.bytes().take(20) {
        value = value * 10 + u128::from(digit - b'0');
        divisor *= 10;
    }
    value * scale / divisor
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    #[test]
    fn go_durations_parse_to_nanoseconds() {
        for (text, ns) in [
            ("0", 0),
            ("-0", 0),
            ("500ms", 500_000_000),
            ("30s", 30 * SECOND),
            ("1m", 60 * SECOND),
            ("1h30m", 5400 * SECOND),
            ("1.5h", 5400 * SECOND),
            (".5s", SECOND / 2),
            ("1.s", SECOND),
            ("+2m", 120 * SECOND),
            ("-2m", -120 * SECOND),
            ("1h1m1s1ms1us1ns", 3661 * SECOND + 1_001_001),
            ("3\u{b5}s", 3_000),
            ("3\u{3bc}s", 3_000),
            ("1.0000000001s", SECOND),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
        ] {
            assert_eq!(parse(text), Ok(ns), "{text}");
        }
    }

    #[test]
    fn what_go_refuses_is_refused_with_its_reason() {
        assert_eq!(parse(""), Err("invalid duration \"\"".into()));
        assert_eq!(parse("-"), Err("invalid duration \"-\"".into()));
        assert_eq!(parse(".s"), Err("invalid duration \".s\"".into()));
        assert_eq!(parse("1"), Err("missing unit in duration \"1\"".into()));
        assert_eq!(
            parse("1h30"),
            Err("missing unit in duration \"1h30\"".into())
        );
        assert_eq!(
            parse("1d"),
            Err("unknown unit \"d\" in duration \"1d\" (expected ns, us, ms, s, m or h)".into())
        );
        assert_eq!(
            parse("1 m"),
            Err("unknown unit \" m\" in duration \"1 m\" (expected ns, us, ms, s, m or h)".into())
        );
        assert_eq!(
            parse("9223372036854775808ns"),
            Err("duration \"9223372036854775808ns\" overflows 292 years".into())
        );
        assert_eq!(
            parse("3000000h"),
            Err("duration \"3000000h\" overflows 292 years".into())
        );
    }

    #[test]
    fn yaml_integers_are_nanoseconds_and_null_is_zero() {
        assert_eq!(from_value(&Value::from(1_000_000_000)), Ok(SECOND));
        assert_eq!(from_value(&Value::Null), Ok(0));
        assert_eq!(from_value(&Value::from("1m")), Ok(60 * SECOND));
        assert!(from_value(&Value::from(1.5)).is_err());
        assert!(from_value(&Value::from(true)).is_err());
    }
}
