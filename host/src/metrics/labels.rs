//! [`Labels`]: the label values of one series, held in a pool shared by
//! every series of a decode.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// Label values back to back, as a decoder hands them over: value `i` ends
/// at byte `ends[i]` of `text` and starts where value `i - 1` ends (or at
/// 0). One decode's series all point into one pool, so a series costs no
/// allocation of its own; the pool is freed with the last series using it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LabelPool {
    text: String,
    ends: Vec<u32>,
}

impl LabelPool {
    /// A pool of `text` cut at `ends`. The offsets are checked per series,
    /// by [`Labels::from_pool`], so one bad offset costs only the series
    /// that use it.
    pub fn new(text: String, ends: Vec<u32>) -> Arc<Self> {
        Arc::new(Self { text, ends })
    }

    /// Where value `index` starts.
    fn start(&self, index: usize) -> usize {
        match index {
            0 => 0,
            _ => self.ends[index - 1] as usize,
        }
    }
}

/// The label values of one series, in its family's label order: a range of
/// the values of a [`LabelPool`]. Cloning shares the pool. Compares and
/// sorts like the list of values it holds.
#[derive(Clone, Default)]
pub struct Labels {
    /// `None` for no values.
    pool: Option<Arc<LabelPool>>,
    first: u32,
    count: u32,
}

impl Labels {
    /// Labels with these values, in a pool of their own.
    pub fn new<I>(values: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut text = String::new();
        let mut ends = Vec::new();
        for value in values {
            text.push_str(value.as_ref());
            ends.push(offset(text.len()));
        }
        if ends.is_empty() {
            return Self::default();
        }
        Self {
            count: offset(ends.len()),
            pool: Some(LabelPool::new(text, ends)),
            first: 0,
        }
    }

    /// The `count` values of `pool` from value number `first`. `None` when
    /// the range or one of its offsets is out of bounds, offsets decrease or
    /// one falls inside a UTF-8 sequence. This is how a decoder's compact
    /// output is read: checked, not copied.
    pub fn from_pool(pool: &Arc<LabelPool>, first: usize, count: usize) -> Option<Self> {
        if count == 0 {
            return Some(Self::default());
        }
        let range = pool.ends.get(first..first.checked_add(count)?)?;
        let mut previous = pool.start(first);
        if !pool.text.is_char_boundary(previous) {
            return None;
        }
        for &end in range {
            let end = end as usize;
            if end < previous || !pool.text.is_char_boundary(end) {
                return None;
            }
            previous = end;
        }
        Some(Self {
            pool: Some(Arc::clone(pool)),
            first: offset(first),
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
        let pool = self.pool.as_deref()?;
        (index < self.len()).then(|| value(pool, self.first as usize + index))
    }

    /// The values in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            pool: self.pool.as_deref(),
            next: self.first as usize,
            end: (self.first + self.count) as usize,
        }
    }

    /// Bytes of all values together.
    pub fn text_len(&self) -> usize {
        self.iter().map(str::len).sum()
    }

    /// Whether both point at the same values of the same pool.
    fn same_range(&self, other: &Self) -> bool {
        self.first == other.first
            && self.count == other.count
            && match (&self.pool, &other.pool) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
    }
}

/// Value `index` of `pool`, which a [`Labels`] range covering it has
/// checked.
fn value(pool: &LabelPool, index: usize) -> &str {
    let (start, end) = (pool.start(index), pool.ends[index] as usize);
    debug_assert!(pool.text.is_char_boundary(start) && pool.text.is_char_boundary(end));
    // SAFETY: `Labels` exist only for ranges `from_pool` (or `new`, whose
    // offsets are those of whole `&str`s) checked: every offset in range is
    // within the text, on a char boundary and not before the one preceding
    // it. The pool is immutable once shared.
    unsafe { pool.text.get_unchecked(start..end) }
}

/// Offsets and counts are `u32`: a decode's labels are bounded far below
/// 4 GiB by the plugin's memory cap.
fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("label values of one decode fit in 4 GiB")
}

/// The values of [`Labels`], in order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    pool: Option<&'a LabelPool>,
    next: usize,
    end: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let pool = self.pool?;
        if self.next == self.end {
            return None;
        }
        self.next += 1;
        Some(value(pool, self.next - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match self.pool {
            Some(_) => self.end - self.next,
            None => 0,
        };
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

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.same_range(other) || (self.len() == other.len() && self.iter().eq(other.iter()))
    }
}

impl Eq for Labels {}

impl Ord for Labels {
    /// Value by value, like `Vec<String>`.
    fn cmp(&self, other: &Self) -> Ordering {
        if self.same_range(other) {
            return Ordering::Equal;
        }
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
        Self::new(iter)
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
        let pool = LabelPool::new("10.0.0.1443tcpé".into(), vec![8, 11, 14, 16]);
        let from = |first, count| Labels::from_pool(&pool, first, count);
        let row = from(1, 3).expect("valid range");
        assert_eq!(row, ["443", "tcp", "é"]);
        assert_eq!(
            row,
            Labels::new(["443", "tcp", "é"]),
            "equal to the same values pooled apart"
        );
        assert_eq!(row.text_len(), 8);
        assert_eq!(from(0, 1).expect("first"), ["10.0.0.1"]);
        assert_eq!(from(9, 0), Some(Labels::default()));
        assert_eq!(from(2, 3), None, "past the end");
        assert_eq!(from(usize::MAX, 2), None);
        let bad = |text: &str, ends: Vec<u32>, first, count| {
            Labels::from_pool(&LabelPool::new(text.into(), ends), first, count)
        };
        assert_eq!(bad("10.0.0.1443", vec![8, 4], 0, 2), None, "decreasing");
        assert_eq!(bad("10.0.0.1443", vec![8, 40], 0, 2), None, "past the text");
        assert_eq!(bad("é", vec![1], 0, 1), None, "inside é");
        assert_eq!(bad("é", vec![1, 2], 1, 1), None, "starts inside é");
        assert_eq!(bad("ab", vec![1, 2], 1, 1), Some(Labels::new(["b"])));
    }

    #[test]
    fn series_of_one_pool_share_it_and_compare_by_value() {
        let pool = LabelPool::new("abab".into(), vec![1, 2, 3, 4]);
        let first = Labels::from_pool(&pool, 0, 2).expect("a, b");
        let second = Labels::from_pool(&pool, 2, 2).expect("a, b again");
        assert_eq!(first, second);
        assert_eq!(first.cmp(&second), Ordering::Equal);
        assert!(Labels::from_pool(&pool, 1, 2).expect("b, a") > first);
        assert_eq!(
            Arc::strong_count(&pool),
            3,
            "no copy: both point into the pool"
        );
        drop((first, second));
        assert_eq!(Arc::strong_count(&pool), 1);
    }
}
