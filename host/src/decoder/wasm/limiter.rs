//! The store's resource limiter: wasmtime's [`StoreLimits`] (the memory cap,
//! instance and table counts) plus a record of the memory actually granted,
//! for the memory-in-use self-metric.

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// Core instances (and tables) a decoder's component may create.
const INSTANCES: usize = 64;

/// Limits of one plugin store, remembering how much memory it holds.
#[derive(Debug)]
pub struct Limiter {
    limits: StoreLimits,
    /// Bytes of linear memory granted so far (the largest memory's size).
    memory_bytes: usize,
}

impl Limiter {
    /// Caps linear memory at `memory_bytes`; growing past it traps.
    pub fn new(memory_bytes: usize) -> Self {
        Self {
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .trap_on_grow_failure(true)
                // A Rust decoder needs 1 core instance, a CPython one (libc,
                // libpython and its extension modules linked together) ~20;
                // instances and tables cost the host little, memories are
                // what the cap bounds, one each.
                .instances(INSTANCES)
                .tables(INSTANCES)
                .memories(2)
                .build(),
            memory_bytes: 0,
        }
    }

    /// Linear memory currently held.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = self.limits.memory_growing(current, desired, maximum)?;
        if granted {
            self.memory_bytes = self.memory_bytes.max(desired);
        }
        Ok(granted)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_granted_memory_and_refuses_past_the_cap() {
        let mut limiter = Limiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 64 << 10, None).expect("grow"));
        assert_eq!(limiter.memory_bytes(), 64 << 10);
        let past_cap = limiter.memory_growing(64 << 10, 2 << 20, None);
        assert!(past_cap.is_err(), "growing past the cap traps");
        assert_eq!(limiter.memory_bytes(), 64 << 10);
    }
}
