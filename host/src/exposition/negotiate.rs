//! Choosing the format from the `Accept` header.

/// The exposition format of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`
    Text,
    /// `application/openmetrics-text; version=1.0.0`
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// `OpenMetrics` 1.0 when the client prefers it (by q-value, then order),
    /// text 0.0.4 otherwise. `OpenMetrics` with a `version` other than 1.0.0
    /// does not count as a request for it.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::Text;
        };
        let mut best: Option<(f32, Self)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut version = None;
            for param in parts {
                if let Some((k, v)) = param.split_once('=') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "q" => q = v.trim().parse().unwrap_or(0.0),
                        "version" => version = Some(v.trim().trim_matches('"').to_owned()),
                        _ => {}
                    }
                }
            }
            let format = match media.as_str() {
                "application/openmetrics-text"
                    if version.as_deref().is_none_or(|v| v == "1.0.0") =>
                {
                    Self::OpenMetrics
                }
                "application/openmetrics-text" => continue,
                _ => Self::Text,
            };
            if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, format));
            }
        }
        best.map_or(Self::Text, |(_, f)| f)
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn prometheus_default_accept_gets_openmetrics() {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(accept)), Format::OpenMetrics);
    }

    #[test]
    fn text_wins_without_an_openmetrics_request() {
        for accept in [
            None,
            Some(""),
            Some("*/*"),
            Some("text/plain;version=0.0.4"),
            Some("garbage;;;="),
        ] {
            assert_eq!(Format::negotiate(accept), Format::Text, "{accept:?}");
        }
    }

    #[test]
    fn q_values_and_versions_decide() {
        let cases = [
            (
                "text/plain;q=0.9,application/openmetrics-text;q=0.5",
                Format::Text,
            ),
            (
                "text/plain;q=0.5,application/openmetrics-text;q=0.9",
                Format::OpenMetrics,
            ),
            ("application/openmetrics-text;version=0.0.1", Format::Text),
            (
                "application/openmetrics-text; version=\"1.0.0\"",
                Format::OpenMetrics,
            ),
            ("application/openmetrics-text;q=0", Format::Text),
            ("APPLICATION/OPENMETRICS-TEXT", Format::OpenMetrics),
        ];
        for (accept, want) in cases {
            assert_eq!(Format::negotiate(Some(accept)), want, "{accept}");
        }
    }
}
