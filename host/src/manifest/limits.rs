//! `spec.decoder.limits`: per-exporter overrides of the sandbox and output
//! bounds, written the Kubernetes way (`timeout: 500ms`, `memory: 32Mi`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{Location, ManifestError};

/// Overrides of a decoder's limits; an absent field keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecoderLimits {
    /// Longest one plugin call may run (`init` or a decode), e.g. `500ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<TimeSpan>,
    /// Largest linear memory the plugin may grow to, e.g. `32Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
    /// Series kept per collection; the rest are dropped and counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_series: Option<u64>,
    /// Labels a family may declare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_labels: Option<u64>,
    /// Longest label value, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_label_value_bytes: Option<u64>,
    /// Exposition bytes per collection, e.g. `16Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<Quantity>,
}

/// Accepted ranges, so a typo cannot disable the sandbox.
const TIMEOUT: (Duration, Duration) = (Duration::from_millis(10), Duration::from_mins(1));
const MEMORY: (u64, u64) = (1 << 20, 4 << 30);
const SERIES: (u64, u64) = (1, 10_000_000);
const LABELS: (u64, u64) = (0, 64);
const LABEL_VALUE: (u64, u64) = (1, 1 << 20);
const BYTES: (u64, u64) = (1 << 10, 1 << 30);

impl DecoderLimits {
    /// Every field outside its accepted range.
    pub(crate) fn check(&self, at: &Location, field: &str) -> Vec<ManifestError> {
        let mut errors = Vec::new();
        let mut out_of_range = |name: &str, value: String, min: String, max: String| {
            errors.push(ManifestError::OutOfRange {
                at: at.boxed(),
                field: format!("{field}.{name}"),
                value,
                min,
                max,
            });
        };
        if let Some(TimeSpan(t)) = self.timeout
            && !(TIMEOUT.0..=TIMEOUT.1).contains(&t)
        {
            let show = |d: Duration| TimeSpan(d).to_string();
            out_of_range("timeout", show(t), show(TIMEOUT.0), show(TIMEOUT.1));
        }
        let quantities = [
            ("memory", self.memory.map(|q| q.0), MEMORY, true),
            ("maxSeries", self.max_series, SERIES, false),
            ("maxLabels", self.max_labels, LABELS, false),
            (
                "maxLabelValueBytes",
                self.max_label_value_bytes,
                LABEL_VALUE,
                false,
            ),
            ("maxBytes", self.max_bytes.map(|q| q.0), BYTES, true),
        ];
        for (name, value, (min, max), bytes) in quantities {
            let show = |n: u64| {
                if bytes {
                    Quantity(n).to_string()
                } else {
                    n.to_string()
                }
            };
            if let Some(v) = value
                && !(min..=max).contains(&v)
            {
                out_of_range(name, show(v), show(min), show(max));
            }
        }
        errors
    }
}

/// A duration written as Go and Kubernetes do: `1m30s`, `500ms`, `2s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSpan(pub Duration);

/// A byte count written as a Kubernetes quantity: `64Mi`, `1G`, `4096`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(pub u64);

const TIME_UNITS: [(&str, u64); 6] = [
    ("ns", 1),
    ("us", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

impl std::str::FromStr for TimeSpan {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || format!("invalid duration `{text}`: expected e.g. `500ms`, `2s`, `1m30s`");
        let mut rest = text.trim();
        let mut nanos: u64 = 0;
        if rest.is_empty() {
            return Err(invalid());
        }
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            rest = &rest[digits..];
            let units = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let scale = TIME_UNITS
                .iter()
                .find(|(unit, _)| *unit == &rest[..units])
                .map(|(_, scale)| *scale)
                .ok_or_else(invalid)?;
            rest = &rest[units..];
            nanos = number
                .checked_mul(scale)
                .and_then(|n| nanos.checked_add(n))
                .ok_or_else(invalid)?;
        }
        Ok(Self(Duration::from_nanos(nanos)))
    }
}

impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        let (unit, scale) = TIME_UNITS
            .iter()
            .rev()
            .find(|(_, scale)| nanos.is_multiple_of(u128::from(*scale)) && nanos > 0)
            .copied()
            .unwrap_or(("s", 1_000_000_000));
        write!(f, "{}{unit}", nanos / u128::from(scale))
    }
}

const BYTE_UNITS: [(&str, u64); 8] = [
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
];

impl std::str::FromStr for Quantity {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || format!("invalid quantity `{text}`: expected e.g. `64Mi`, `1G`, `4096`");
        let text = text.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let number: u64 = text[..digits].parse().map_err(|_| invalid())?;
        let scale = match &text[digits..] {
            "" => 1,
            suffix => BYTE_UNITS
                .iter()
                .find(|(unit, _)| *unit == suffix)
                .map(|(_, scale)| *scale)
                .ok_or_else(invalid)?,
        };
        number.checked_mul(scale).map(Self).ok_or_else(invalid)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match BYTE_UNITS[..4]
            .iter()
            .rev()
            .find(|(_, scale)| self.0 >= *scale && self.0.is_multiple_of(*scale))
        {
            Some((unit, scale)) => write!(f, "{}{unit}", self.0 / scale),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Text or a plain number (seconds for durations, bytes for quantities).
#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Number(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for TimeSpan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match TextOrNumber::deserialize(d)? {
            TextOrNumber::Number(secs) => Ok(Self(Duration::from_secs(secs))),
            TextOrNumber::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match TextOrNumber::deserialize(d)? {
            TextOrNumber::Number(bytes) => Ok(Self(bytes)),
            TextOrNumber::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for TimeSpan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_like_kubernetes() {
        let ms = |n| TimeSpan(Duration::from_millis(n));
        for (text, want) in [("500ms", ms(500)), ("2s", ms(2000)), ("1m30s", ms(90_000))] {
            assert_eq!(text.parse::<TimeSpan>(), Ok(want), "{text}");
        }
        assert_eq!(ms(1500).to_string(), "1500ms");
        assert_eq!(ms(120_000).to_string(), "2m");
        for bad in ["", "2", "s", "2 s", "1.5s", "2d", "-1s"] {
            let err = bad.parse::<TimeSpan>().expect_err(bad);
            assert!(err.contains("expected e.g. `500ms`"), "{err}");
        }
    }

    #[test]
    fn quantities_parse_and_print_like_kubernetes() {
        for (text, want) in [("4096", 4096), ("64Mi", 64 << 20), ("1G", 1_000_000_000)] {
            assert_eq!(text.parse::<Quantity>(), Ok(Quantity(want)), "{text}");
        }
        assert_eq!(Quantity(64 << 20).to_string(), "64Mi");
        assert_eq!(Quantity(1000).to_string(), "1000");
        for bad in ["", "Mi", "1.5Gi", "64mb", "99999999999Ti"] {
            assert!(bad.parse::<Quantity>().is_err(), "{bad}");
        }
    }
}
