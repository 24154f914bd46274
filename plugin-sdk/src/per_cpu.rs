//! Per-CPU values: fold them into one number, or keep one series per CPU.

use crate::reader::Reader;
use crate::{Entry, FamilyId, Output, Result};

impl<'a> Entry<'a> {
    /// Reads a number from each CPU's value and sums them (wrapping, as the
    /// kernel's counters do). For maps that are not per-CPU this is just the
    /// one value: `entry.sum_by(|v| v.u32().map(u64::from))`.
    pub fn sum_by(&self, mut read: impl FnMut(&mut Reader<'a>) -> Result<u64>) -> Result<u64> {
        self.per_cpu().try_fold(0u64, |sum, v| {
            Ok(sum.wrapping_add(read(&mut Reader::value(v))?))
        })
    }

    /// Like [`sum_by`](Self::sum_by) for a struct value with several
    /// numbers, summed field by field:
    ///
    /// ```no_run
    /// # use bpfhost_plugin_sdk::{Entry, Result};
    /// # fn f(entry: Entry<'_>) -> Result<()> {
    /// // struct { __u64 packets; __u64 bytes; __u32 drops; }
    /// let [packets, bytes, drops] =
    ///     entry.sum_fields(|v| Ok([v.u64()?, v.u64()?, v.u32()?.into()]))?;
    /// # Ok(()) }
    /// ```
    pub fn sum_fields<const N: usize>(
        &self,
        mut read: impl FnMut(&mut Reader<'a>) -> Result<[u64; N]>,
    ) -> Result<[u64; N]> {
        self.per_cpu().try_fold([0u64; N], |mut sums, v| {
            let fields = read(&mut Reader::value(v))?;
            for (sum, field) in sums.iter_mut().zip(fields) {
                *sum = sum.wrapping_add(field);
            }
            Ok(sums)
        })
    }
}

impl Output {
    /// Emits one sample per CPU instead of their sum: `labels` followed by
    /// the CPU number, so the family declares `cpu` as its last label.
    /// `read` turns one CPU's value into the sample value.
    pub fn sample_per_cpu<'a>(
        &mut self,
        family: FamilyId,
        labels: &[&str],
        entry: &Entry<'a>,
        mut read: impl FnMut(&mut Reader<'a>) -> Result<f64>,
    ) -> Result<()> {
        for (cpu, value) in entry.per_cpu().enumerate() {
            let value = read(&mut Reader::value(value))?;
            let mut span = self.labels(labels.iter().copied());
            self.push_value(cpu);
            span.count += 1;
            self.push_sample(family, span, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{MapSnapshot, MapType, Maps, Output, Spec};

    fn two_cpus() -> MapSnapshot {
        // struct { __u64 packets; __u32 drops; } on 2 CPUs: 16-byte slots.
        MapSnapshot::new("m", MapType::PerCpuHash, 4, 12)
            .cpus(2)
            .entry_per_cpu(&7u32.to_le_bytes(), &[&value(10, 1), &value(5, 2)])
    }

    fn value(packets: u64, drops: u32) -> Vec<u8> {
        let mut v = packets.to_le_bytes().to_vec();
        v.extend_from_slice(&drops.to_le_bytes());
        v
    }

    #[test]
    fn sums_one_number_and_several_fields_over_cpus() {
        let snapshot = two_cpus();
        let maps = [snapshot];
        let maps = Maps::new(&maps);
        let entry = maps.get("m").unwrap().entries().next().unwrap();
        assert_eq!(entry.sum_by(crate::Reader::u64).unwrap(), 15);
        let [packets, drops] = entry
            .sum_fields(|v| Ok([v.u64()?, v.u32()?.into()]))
            .unwrap();
        assert_eq!((packets, drops), (15, 3));
    }

    #[test]
    fn per_cpu_samples_get_a_trailing_cpu_label() {
        let snapshot = two_cpus();
        let maps = [snapshot];
        let maps = Maps::new(&maps);
        let entry = maps.get("m").unwrap().entries().next().unwrap();
        let mut spec = Spec::default();
        let family = spec.counter("packets", "Packets", &["key", "cpu"]);
        let mut out = Output::default();
        out.sample_per_cpu(family, &["7"], &entry, |v| Ok(v.u64()? as f64))
            .unwrap();
        let rows: Vec<(Vec<String>, f64)> = out
            .samples()
            .into_iter()
            .map(|s| (s.labels, s.value))
            .collect();
        assert_eq!(
            rows,
            [
                (vec!["7".to_owned(), "0".to_owned()], 10.0),
                (vec!["7".to_owned(), "1".to_owned()], 5.0)
            ]
        );
    }

    #[test]
    fn a_short_value_fails_with_the_reader_error() {
        let snapshot = two_cpus();
        let maps = [snapshot];
        let maps = Maps::new(&maps);
        let entry = maps.get("m").unwrap().entries().next().unwrap();
        let err = entry.sum_fields(|v| Ok([v.u64()?, v.u64()?])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "value too short: need 8 bytes at offset 8, have 12"
        );
    }
}
