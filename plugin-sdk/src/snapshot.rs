//! Building map snapshots by hand: for decoder unit tests and native
//! benchmarks, where no agent hands them over.

use crate::{MapSnapshot, MapType};

impl MapSnapshot {
    /// An empty snapshot of a map with one CPU. Add entries with
    /// [`entry`](Self::entry) or, for per-CPU maps, set [`cpus`](Self::cpus)
    /// and use [`entry_per_cpu`](Self::entry_per_cpu):
    ///
    /// ```no_run
    /// use bpfhost_plugin_sdk::{MapSnapshot, MapType, Maps};
    ///
    /// let counts = MapSnapshot::new("packets", MapType::PerCpuArray, 4, 8)
    ///     .cpus(2)
    ///     .entry_per_cpu(&6u32.to_le_bytes(), &[&3u64.to_le_bytes(), &4u64.to_le_bytes()]);
    /// let snapshots = [counts];
    /// let maps = Maps::new(&snapshots);
    /// ```
    pub fn new(name: &str, map_type: MapType, key_size: usize, value_size: usize) -> Self {
        Self {
            name: name.to_owned(),
            map_type,
            key_size,
            value_size,
            entries: 0,
            cpus: 1,
            keys: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Sets the number of CPUs, before any entry is added.
    ///
    /// # Panics
    /// When entries were already added.
    #[must_use]
    pub fn cpus(mut self, cpus: usize) -> Self {
        assert_eq!(self.entries, 0, "set cpus before adding entries");
        self.cpus = cpus;
        self
    }

    /// Adds an entry to a map that is not per-CPU.
    ///
    /// # Panics
    /// When the map is per-CPU or a size does not match the map's.
    #[must_use]
    pub fn entry(mut self, key: &[u8], value: &[u8]) -> Self {
        assert!(
            !self.map_type.is_per_cpu(),
            "map {}: use entry_per_cpu for per-CPU maps",
            self.name
        );
        self.push_key(key);
        self.push_value(value);
        self
    }

    /// Adds an entry to a per-CPU map: one value per CPU, CPU 0 first. Each
    /// value is padded to 8 bytes, as the kernel does.
    ///
    /// # Panics
    /// When the map is not per-CPU, or a size or the number of values does
    /// not match the map's.
    #[must_use]
    pub fn entry_per_cpu(mut self, key: &[u8], values: &[&[u8]]) -> Self {
        assert!(
            self.map_type.is_per_cpu(),
            "map {}: use entry for maps that are not per-CPU",
            self.name
        );
        assert_eq!(
            values.len(),
            self.cpus,
            "map {}: one value per CPU",
            self.name
        );
        self.push_key(key);
        let slot = self.value_size.next_multiple_of(8);
        for value in values {
            self.push_value(value);
            self.values
                .resize(self.values.len() + slot - value.len(), 0);
        }
        self
    }

    fn push_key(&mut self, key: &[u8]) {
        assert_eq!(key.len(), self.key_size, "map {}: key size", self.name);
        self.keys.extend_from_slice(key);
        self.entries += 1;
    }

    fn push_value(&mut self, value: &[u8]) {
        assert_eq!(
            value.len(),
            self.value_size,
            "map {}: value size",
            self.name
        );
        self.values.extend_from_slice(value);
    }
}

#[cfg(test)]
mod tests {
    use crate::{MapSnapshot, MapType, Maps};

    #[test]
    fn per_cpu_values_are_padded_to_eight_bytes() {
        let s = MapSnapshot::new("m", MapType::PerCpuHash, 2, 4)
            .cpus(2)
            .entry_per_cpu(&[1, 0], &[&[1, 0, 0, 0], &[2, 0, 0, 0]]);
        assert_eq!(s.values, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        let snapshots = [s];
        let view = Maps::new(&snapshots).get("m").unwrap();
        let values: Vec<&[u8]> = view.entries().next().unwrap().per_cpu().collect();
        assert_eq!(values, [[1, 0, 0, 0], [2, 0, 0, 0]]);
    }

    #[test]
    fn plain_entries_are_concatenated() {
        let s = MapSnapshot::new("m", MapType::Hash, 1, 1)
            .entry(&[1], &[10])
            .entry(&[2], &[20]);
        assert_eq!(
            (s.entries, s.keys.as_slice(), s.values.as_slice()),
            (2, &[1, 2][..], &[10, 20][..])
        );
    }

    #[test]
    #[should_panic(expected = "map m: key size")]
    fn a_wrong_key_size_panics_with_the_map_name() {
        let _ = MapSnapshot::new("m", MapType::Hash, 4, 8).entry(&[0; 3], &[0; 8]);
    }
}
