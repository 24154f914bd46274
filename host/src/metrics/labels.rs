//! [`Labels`]: the label values of one series in a single allocation.

use std::cmp::Ordering;
use std::fmt;

/// The label values of one series, in its family's label order.
///
/// One allocation holds them all (a scrape has one series per map entry,
/// and a `Vec<String>` would cost one allocation per value more): the end
/// offset of each value, then the values back to back. Compares and sorts
/// like the list of values it holds.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels {
    /// `count` native-endian `u32` end offsets (relative to the text that
    /// follows them), then the UTF-8 text of every value.
    buf: Box<[u8]>,
    count: u32,
}

const END: usize = size_of::<u32>();

impl Labels {
    /// Labels with these values.
    pub fn new<I>(values: I) -> Self
    where
        I: IntoIterator,
        I::IntoIter: Clone,
        I::Item: AsRef<str>,
    {
        let values = values.into_iter();
        let (count, text) = values.clone().fold((0usize, 0usize), |(n, len), v| {
            (n + 1, len + v.as_ref().len())
        });
        let mut buf = Vec::with_capacity(count * END + text);
        let mut end = 0usize;
        for v in values.clone() {
            end += v.as_ref().len();
            buf.extend_from_slice(&offset(end).to_ne_bytes());
        }
        for v in values {
            buf.extend_from_slice(v.as_ref().as_bytes());
        }
        Self {
            buf: buf.into_boxed_slice(),
            count: offset(count),
        }
    }

    /// `count` values of a pool of values stored back to back in `text`,
    /// starting at value number `first`, where value `i` ends at byte
    /// `ends[i]` (and starts where value `i - 1` ends, or at 0). `None` when
    /// the range or an offset is out of bounds, offsets decrease or one
    /// falls inside a UTF-8 sequence. This is how a decoder's compact output
    /// is read: the values of a row are copied with one `memcpy`.
    pub fn from_pool(text: &str, ends: &[u32], first: usize, count: usize) -> Option<Self> {
        if count == 0 {
            return Some(Self::default());
        }
        let range = ends.get(first..first.checked_add(count)?)?;
        let start = match first {
            0 => 0,
            _ => ends[first - 1] as usize,
        };
        let mut previous = start;
        for &end in range {
            let end = end as usize;
            if end < previous || !text.is_char_boundary(end) {
                return None;
            }
            previous = end;
        }
        if !text.is_char_boundary(start) {
            return None;
        }
        // Exactly sized: `into_boxed_slice` must not reallocate.
        let mut buf = Vec::with_capacity(count * END + (previous - start));
        for &end in range {
            buf.extend_from_slice(&(end - offset(start)).to_ne_bytes());
        }
        buf.extend_from_slice(&text.as_bytes()[start..previous]);
        Some(Self {
            buf: buf.into_boxed_slice(),
            count: offset(count),
        })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Value `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&str> {
        (index < self.len()).then(|| {
            let start = if index == 0 { 0 } else { self.end(index - 1) };
            &self.text()[start..self.end(index)]
        })
    }

    /// The values in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            labels: self,
            index: 0,
            start: 0,
        }
    }

    /// Bytes of all values together.
    pub fn text_len(&self) -> usize {
        self.buf.len() - self.len() * END
    }

    fn end(&self, index: usize) -> usize {
        let at = index * END;
        let bytes: [u8; END] = self.buf[at..at + END]
            .try_into()
            .expect("an end offset is 4 bytes");
        u32::from_ne_bytes(bytes) as usize
    }

    fn text(&self) -> &str {
        let text = &self.buf[self.len() * END..];
        // SAFETY: the constructors write only whole `&str`s after the
        // offsets (`new`), or a range of a `&str` that starts and ends on
        // char boundaries (`from_pool`), and the buffer is never mutated.
        unsafe { std::str::from_utf8_unchecked(text) }
    }
}

/// Offsets and counts are `u32`: a series' labels are bounded far below 4 GiB.
fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("label values of one series fit in 4 GiB")
}

/// The values of [`Labels`], in order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    labels: &'a Labels,
    index: usize,
    start: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.index == self.labels.len() {
            return None;
        }
        let end = self.labels.end(self.index);
        let value = &self.labels.text()[self.start..end];
        self.index += 1;
        self.start = end;
        Some(value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.labels.len() - self.index;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a str;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl std::ops::Index<usize> for Labels {
    type Output = str;

    fn index(&self, index: usize) -> &str {
        self.get(index)
            .unwrap_or_else(|| panic!("label index {index} out of range for {} labels", self.len()))
    }
}

impl Ord for Labels {
    /// Value by value, like `Vec<String>`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> FromIterator<S> for Labels {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self::new(&iter.into_iter().collect::<Vec<S>>())
    }
}

impl From<Vec<String>> for Labels {
    fn from(values: Vec<String>) -> Self {
        Self::new(values)
    }
}

impl From<&[&str]> for Labels {
    fn from(values: &[&str]) -> Self {
        Self::new(values)
    }
}

impl<const N: usize> From<[&str; N]> for Labels {
    fn from(values: [&str; N]) -> Self {
        Self::new(values)
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for Labels {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>> PartialEq<&[S]> for Labels {
    fn eq(&self, other: &&[S]) -> bool {
        *self == **other
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Labels {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Labels {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_values_in_order_including_empty_ones() {
        let labels = Labels::new(["10.0.0.1", "", "443", "tcp"]);
        assert_eq!(labels.len(), 4);
        assert_eq!(labels, ["10.0.0.1", "", "443", "tcp"]);
        assert_eq!(labels.get(1), Some(""));
        assert_eq!(&labels[3], "tcp");
        assert_eq!(labels.get(4), None);
        assert_eq!(labels.text_len(), 14);
        assert_eq!(format!("{labels:?}"), r#"["10.0.0.1", "", "443", "tcp"]"#);
        assert!(Labels::default().is_empty());
        assert_eq!(Labels::new(Vec::<String>::new()), Labels::default());
    }

    #[test]
    fn compares_value_by_value_like_a_list_of_strings() {
        let lists: &[&[&str]] = &[
            &["a", "b"],
            &["ab"],
            &["a", ""],
            &["", "ab"],
            &["a"],
            &[],
            &["b", "a"],
            &["a\0", "b"],
            &["a", "\0b"],
            &["é", "e"],
        ];
        for a in lists {
            for b in lists {
                let (la, lb) = (Labels::from(*a), Labels::from(*b));
                assert_eq!(la.cmp(&lb), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(la == lb, a == b, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn reads_a_range_of_a_pool_and_refuses_what_does_not_resolve() {
        let text = "10.0.0.1443tcpé";
        let ends = [8, 11, 14, 16];
        let row = Labels::from_pool(text, &ends, 1, 3).expect("valid range");
        assert_eq!(row, ["443", "tcp", "é"]);
        assert_eq!(row, Labels::new(["443", "tcp", "é"]), "same encoding");
        assert_eq!(
            Labels::from_pool(text, &ends, 0, 1).expect("first"),
            ["10.0.0.1"]
        );
        assert_eq!(
            Labels::from_pool(text, &ends, 9, 0),
            Some(Labels::default())
        );
        assert_eq!(Labels::from_pool(text, &ends, 2, 3), None, "past the end");
        assert_eq!(Labels::from_pool(text, &ends, usize::MAX, 2), None);
        assert_eq!(Labels::from_pool(text, &[8, 4], 0, 2), None, "decreasing");
        assert_eq!(
            Labels::from_pool(text, &[8, 40], 0, 2),
            None,
            "past the text"
        );
        assert_eq!(Labels::from_pool(text, &[15], 0, 1), None, "inside é");
        assert_eq!(
            Labels::from_pool(text, &[15, 16], 1, 1),
            None,
            "starts inside é"
        );
    }
}
