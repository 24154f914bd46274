//! Escaping and number formatting shared by both formats.

/// Appends a label value with `\`, `"` and newline escaped.
pub fn label_value(out: &mut Vec<u8>, value: &str) {
    escape(out, value, true);
}

/// Appends HELP text: `\` and newline escaped, and `"` too in `OpenMetrics`.
pub fn help(out: &mut Vec<u8>, text: &str, quotes: bool) {
    escape(out, text, quotes);
}

fn escape(out: &mut Vec<u8>, text: &str, quotes: bool) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let replacement: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quotes => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(replacement);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends a sample value: integers without a fraction, `NaN`, `+Inf`, `-Inf`.
pub fn float(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

/// Appends an unsigned count.
pub fn count(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a bucket bound as `OpenMetrics` wants it (canonical float, `1.0`
/// rather than `1`), which text 0.0.4 parsers accept too.
pub fn bound(out: &mut Vec<u8>, v: f64) {
    if v.is_infinite() || v.is_nan() {
        float(out, v);
    } else {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn escapes_backslash_quote_and_newline() {
        assert_eq!(s(|o| label_value(o, "a\\b\"c\nd")), r#"a\\b\"c\nd"#);
        assert_eq!(s(|o| help(o, "say \"hi\"\n", false)), "say \"hi\"\\n");
        assert_eq!(s(|o| help(o, "say \"hi\"", true)), r#"say \"hi\""#);
    }

    #[test]
    fn formats_numbers_for_both_formats() {
        assert_eq!(s(|o| float(o, 42.0)), "42");
        assert_eq!(s(|o| float(o, -3.0)), "-3");
        assert_eq!(s(|o| float(o, 0.25)), "0.25");
        assert_eq!(s(|o| float(o, f64::NAN)), "NaN");
        assert_eq!(s(|o| float(o, f64::INFINITY)), "+Inf");
        assert_eq!(s(|o| float(o, 1e300)), "1e300");
        assert_eq!(s(|o| bound(o, 1.0)), "1.0");
        assert_eq!(s(|o| bound(o, 0.005)), "0.005");
    }
}
