//! Escaping for the HTML pages: text from manifests and plugins goes into
//! a page only through [`Text`] (element content and quoted attribute
//! values) and, inside a URL, through [`PathSegment`].

use std::fmt;

/// Writes a string with `&`, `<`, `>`, `"` and `'` as character
/// references: safe in element content and in quoted attribute values.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a>(pub &'a str);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// Writes a string as one URL path segment: every byte but the unreserved
/// ones (RFC 3986: letters, digits, `-._~`) percent-encoded, so a `/`, `?`
/// or `#` in a name stays inside the segment. The result needs no further
/// HTML escaping.
#[derive(Debug, Clone, Copy)]
pub struct PathSegment<'a>(pub &'a str);

impl fmt::Display for PathSegment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in self.0.as_bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                fmt::Write::write_char(f, char::from(byte))?;
            } else {
                write!(f, "%{byte:02X}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_become_references() {
        assert_eq!(
            Text(r#"<script>alert("x" & 'y')</script>"#).to_string(),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn plain_and_non_ascii_text_is_unchanged() {
        assert_eq!(Text("").to_string(), "");
        assert_eq!(Text("tcp-connects").to_string(), "tcp-connects");
        assert_eq!(Text("nœud – 東京").to_string(), "nœud – 東京");
    }

    #[test]
    fn a_path_segment_cannot_leave_its_segment_or_attribute() {
        assert_eq!(PathSegment("writes.v2_a~b").to_string(), "writes.v2_a~b");
        assert_eq!(
            PathSegment(r#"a/../b?c#d" onclick='x'"#).to_string(),
            "a%2F..%2Fb%3Fc%23d%22%20onclick%3D%27x%27"
        );
        assert_eq!(PathSegment("é").to_string(), "%C3%A9");
    }
}
