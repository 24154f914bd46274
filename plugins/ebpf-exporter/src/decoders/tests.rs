//! The decoders that need no host. Tests named `upstream_*` port the cases
//! of `ebpf_exporter` v2.5's `decoder/*_test.go` (the Go test each comes
//! from is named above it); the others pin behaviour its tests leave out.

use super::text::{parse_decimal, parse_go_uint, parse_signed};
use super::*;
use crate::config::raw::RawDecoder;

/// A decoder from its config entry, as JSON.
fn step(json: &str) -> Step {
    step_sized(json, None).unwrap()
}

fn step_sized(json: &str, input: Option<usize>) -> Result<Step, Problem> {
    let raw: RawDecoder = serde_json::from_str(json).expect("decoder config");
    Step::new(raw, input)
}

/// Runs one decoder: its output, or `None` when it drops the label set.
fn decode(step: &mut Step, input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match step.apply(input, &mut out, &mut Lookups::default()) {
        Ok(Flow::Keep) => Some(out),
        Ok(Flow::Skip) => None,
        Err(e) => panic!("decoding {input:?}: {e}"),
    }
}

fn check(decoder: &str, cases: &[(&[u8], &[u8])]) {
    let mut step = step(decoder);
    for (input, expected) in cases {
        let out = decode(&mut step, input).expect("kept");
        assert_eq!(
            out,
            *expected,
            "{decoder} on {input:?}: got {:?}",
            String::from_utf8_lossy(&out)
        );
    }
}

// From TestUIntDecoder.
#[test]
fn upstream_uint() {
    check(
        r#"{"name": "uint"}"#,
        &[
            (&[0x1], b"1"),
            (&[0x2, 0x0], b"2"),
            (&[0x4, 0x0, 0x0, 0x0], b"4"),
            (&[0x8, 0, 0, 0, 0, 0, 0, 0], b"8"),
            (
                &[0x0, 0xb6, 0xc2, 0x5b, 0x85, 0xff, 0xff, 0xff],
                b"18446743546968061440",
            ),
            (&[0xff; 8], b"18446744073709551615"),
        ],
    );
}

#[test]
fn uint_of_an_odd_size_fails_at_decode_or_at_init() {
    let mut out = Vec::new();
    let err = step(r#"{"name": "uint"}"#)
        .apply(&[1, 2, 3], &mut out, &mut Lookups::default())
        .unwrap_err();
    assert_eq!(err.to_string(), "decoder `uint`: unknown value length 3");
    let err = step_sized(r#"{"name": "uint"}"#, Some(16)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "decoder `uint`: reads 1, 2, 4 or 8 bytes, the label has size 16"
    );
}

// From TestStringDecoder.
#[test]
fn upstream_string() {
    check(
        r#"{"name": "string"}"#,
        &[
            (b"regular string", b"regular string"),
            (
                b"null terminated string\0bananas after null",
                b"null terminated string",
            ),
        ],
    );
}

// From TestHexDecoder.
#[test]
fn upstream_hex() {
    check(
        r#"{"name": "hex"}"#,
        &[
            (&[0x1], b"01"),
            (&[0x1, 0x2], b"0102"),
            (&[0xde, 0xad, 0xbe, 0xef], b"deadbeef"),
        ],
    );
}

// From TestInetIpDecoder.
#[test]
fn upstream_inet_ip() {
    check(
        r#"{"name": "inet_ip"}"#,
        &[
            (&[0x01, 0x02, 0x03, 0x04], b"1.2.3.4"),
            (
                &[
                    0x24, 0x00, 0xcb, 0x00, 0x00, 0x04, 0x10, 0x24, 0x00, 0x00, 0x00, 0x00, 0xa2,
                    0x9e, 0xfd, 0x8f,
                ],
                b"2400:cb00:4:1024::a29e:fd8f",
            ),
        ],
    );
}

/// Go's `net.IP.String()` beyond the two cases above.
#[test]
fn inet_ip_prints_what_go_prints() {
    let mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1];
    let loopback = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let compatible = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    let one_zero_group = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
    check(
        r#"{"name": "inet_ip"}"#,
        &[
            (&mapped, b"10.0.0.1"),
            (&loopback, b"::1"),
            (&[0; 16], b"::"),
            (&compatible, b"::102:304"),
            (&one_zero_group, b"2001:db8:0:1:1:1:1:1"),
            (&[], b"<nil>"),
            (&[1, 2, 3], b"?010203"),
        ],
    );
}

// From TestDnameDecoder.
#[test]
fn upstream_dname() {
    check(
        r#"{"name": "dname"}"#,
        &[
            (b"", b"."),
            (b"\x03com", b"com"),
            (b"\x07example\x03com", b"example.com"),
            (b"\x05com", b"\x05com"),
        ],
    );
}

#[test]
fn dname_turns_trailing_zero_bytes_into_dots_as_upstream_does() {
    check(r#"{"name": "dname"}"#, &[(b"\x03com\0\0", b"com..")]);
}

// From TestStaticMapDecoder.
#[test]
fn upstream_static_map() {
    check(
        r#"{"name": "static_map", "static_map": {"1": "read", "2": "write"}}"#,
        &[(b"1", b"read"), (b"2", b"write"), (b"3", b"unknown:3")],
    );
}

// From TestStaticMapDecoderAllowUnknown.
#[test]
fn upstream_static_map_allow_unknown() {
    check(
        r#"{"name": "static_map", "static_map": {"1": "read", "2": "write"},
            "allow_unknown": true}"#,
        &[(b"3", b"3")],
    );
    check(
        r#"{"name": "static_map", "static_map": {"1": "read", "2": "write"},
            "allow_unknown": false}"#,
        &[(b"3", b"unknown:3")],
    );
}

#[test]
fn static_map_values_are_scalars_as_text_and_no_map_is_an_empty_mapping() {
    check(
        r#"{"name": "static_map", "static_map": {"0": 17, "1": true, "2": null, "3": 1.5}}"#,
        &[(b"0", b"17"), (b"1", b"true"), (b"2", b""), (b"3", b"1.5")],
    );
    check(r#"{"name": "static_map"}"#, &[(b"1", b"empty mapping")]);
    check(
        r#"{"name": "static_map", "static_map": {}}"#,
        &[(b"1", b"unknown:1")],
    );
}

// From TestRegexpDecoder.
#[test]
fn upstream_regexp() {
    let journal_or_syslog =
        r#"{"name": "regexp", "regexps": ["^systemd-journal$", "^syslog-ng$"]}"#;
    let mut step = step(journal_or_syslog);
    assert_eq!(
        decode(&mut step, b"systemd-journal").as_deref(),
        Some(&b"systemd-journal"[..])
    );
    assert_eq!(
        decode(&mut step, b"syslog-ng").as_deref(),
        Some(&b"syslog-ng"[..])
    );
    assert_eq!(decode(&mut step, b"systemd-bananad"), None, "skipped");
    let mut step = self::step(r#"{"name": "regexp", "regexps": ["^(systemd).*$", "^syslog-ng$"]}"#);
    assert_eq!(
        decode(&mut step, b"systemd-bananad").as_deref(),
        Some(&b"systemd"[..])
    );
}

/// Go's `FindSubmatch` result: a group that took no part is empty, an
/// expression with two groups never gives an output.
#[test]
fn regexp_takes_the_first_group_or_the_whole_match_only() {
    let mut step = step(r#"{"name": "regexp", "regexps": ["^(a)?b$", "^(x)(y)$", "^x"]}"#);
    assert_eq!(decode(&mut step, b"b").as_deref(), Some(&b""[..]));
    assert_eq!(decode(&mut step, b"ab").as_deref(), Some(&b"a"[..]));
    assert_eq!(decode(&mut step, b"xy").as_deref(), Some(&b"x"[..]));
    // Cached outcomes are the same.
    assert_eq!(decode(&mut step, b"xy").as_deref(), Some(&b"x"[..]));
    assert_eq!(decode(&mut step, b"zz"), None);
}

#[test]
fn regexp_classes_are_ascii_like_go_and_config_errors_say_which() {
    let mut step = step(r#"{"name": "regexp", "regexps": ["^\\d+$", "^\\w+é$"]}"#);
    assert_eq!(decode(&mut step, b"42").as_deref(), Some(&b"42"[..]));
    assert_eq!(
        decode(&mut step, "٤٢".as_bytes()),
        None,
        "Arabic-Indic digits"
    );
    assert_eq!(
        decode(&mut step, "café".as_bytes()).as_deref(),
        Some("café".as_bytes())
    );
    let err = step_sized(r#"{"name": "regexp"}"#, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "decoder `regexp`: no regexps defined in config"
    );
    let err = step_sized(r#"{"name": "regexp", "regexps": ["("]}"#, None).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("decoder `regexp`: error compiling regexp `(`: "),
        "{err}"
    );
    // No regexps at all, but a list: nothing matches, as in Go.
    let mut step = self::step(r#"{"name": "regexp", "regexps": []}"#);
    assert_eq!(decode(&mut step, b"x"), None);
}

#[test]
fn decoders_that_read_the_key_refuse_sizes_they_cannot_read() {
    let err = |json, size| step_sized(json, Some(size)).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"name": "ksym"}"#, 4),
        "decoder `ksym`: reads an 8-byte address, the label has size 4"
    );
    assert_eq!(
        err(r#"{"name": "kstack"}"#, 12),
        "decoder `kstack`: reads 8-byte addresses, the label has size 12"
    );
    assert_eq!(
        err(r#"{"name": "ifname"}"#, 2),
        "decoder `ifname`: reads a 4-byte interface index, the label has size 2"
    );
    assert!(step_sized(r#"{"name": "uint"}"#, Some(2)).is_ok());
}

#[test]
fn unknown_decoders_are_refused_listing_the_known_ones() {
    let err = step_sized(r#"{"name": "bananas"}"#, None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "unknown decoder `bananas`: expected one of cgroup, dname, errno, hex, ifname, inet_ip, \
         kstack, ksym, majorminor, pci_class, pci_device, pci_subclass, pci_vendor, regexp, \
         static_map, string, syscall, uint"
    );
    for name in KNOWN {
        let step = step_sized(
            &format!(r#"{{"name": "{name}", "regexps": ["x"]}}"#),
            Some(8),
        );
        assert_eq!(
            step.map(|s| s.name()).ok(),
            Some(*name),
            "{name} is handled"
        );
    }
}

#[test]
fn a_chain_feeds_each_decoder_the_output_of_the_one_before() {
    let mut steps = vec![
        step(r#"{"name": "string"}"#),
        step(r#"{"name": "regexp", "regexps": ["^(kswapd).*$", "^.*$"]}"#),
        step(
            r#"{"name": "static_map", "static_map": {"kswapd": "reclaim"}, "allow_unknown": true}"#,
        ),
    ];
    let mut scratch = Scratch::default();
    let mut lookups = Lookups::default();
    let mut run = |input: &[u8]| {
        let mut out = b"before:".to_vec();
        match run(&mut steps, input, &mut scratch, &mut lookups, &mut out).unwrap() {
            Flow::Keep => Some(String::from_utf8_lossy(&out).into_owned()),
            Flow::Skip => None,
        }
    };
    assert_eq!(run(b"kswapd0\0\0\0").as_deref(), Some("before:reclaim"));
    assert_eq!(run(b"bash\0\0\0\0\0\0").as_deref(), Some("before:bash"));
    assert_eq!(run(b"").as_deref(), Some("before:"));
}

/// Go's `strconv.ParseUint(s, 0, 64)`, which reads the bucket label.
#[test]
fn bucket_numbers_parse_as_go_reads_integer_literals() {
    let cases: &[(&str, Option<u64>)] = &[
        ("0", Some(0)),
        ("27", Some(27)),
        ("18446744073709551615", Some(u64::MAX)),
        ("18446744073709551616", None),
        ("0x1f", Some(31)),
        ("0X1F", Some(31)),
        ("0o17", Some(15)),
        ("017", Some(15)),
        ("0b101", Some(5)),
        ("08", None),
        ("0x", None),
        ("1_000", Some(1000)),
        ("0x_1f", Some(31)),
        ("0_7", Some(7)),
        ("_1", None),
        ("1_", None),
        ("1__0", None),
        ("+1", None),
        ("-1", None),
        ("", None),
        ("deadbeef", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_go_uint(text.as_bytes()), *expected, "{text:?}");
    }
}

#[test]
fn decimal_and_signed_parsing_follow_parse_uint_and_atoi() {
    assert_eq!(parse_decimal(b"104"), Some(104));
    assert_eq!(parse_decimal(b"+104"), None);
    assert_eq!(parse_decimal(b""), None);
    assert_eq!(parse_signed(b"+5"), Some(5));
    assert_eq!(parse_signed(b"-5"), Some(-5));
    assert_eq!(parse_signed(b"-"), None);
    assert_eq!(parse_signed(b"5x"), None);
}
