//! Array maps keyed by a struct load (the kernel refuses their BTF key;
//! the loader points it at `int`) and count at the struct's index.

use std::collections::BTreeMap;

use super::{load_with, lookup, possible_cpus, u64_sum};
use crate::manifest::spec::GlobalValue;
use crate::testing::require_kernel;

#[test]
#[ignore = "needs root and a BPF-capable kernel"]
fn array_maps_keyed_by_a_struct_load_and_count() {
    require_kernel();
    let globals = BTreeMap::from([(
        "target_tgid".to_owned(),
        GlobalValue::Unsigned(u64::from(std::process::id())),
    )]);
    let object = load_with("bpf/fixtures/array_struct_key.bpf.o", &[], &globals).expect("loads");
    for _ in 0..5 {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    let slot = 3u32.to_ne_bytes();
    let shared = object.map("shared_slots").expect("shared_slots");
    let value = lookup(&shared.fd, &slot, 8).expect("slot 3");
    assert_eq!(u64_sum(&value), 5);
    let percpu = object.map("percpu_slots").expect("percpu_slots");
    let values = lookup(&percpu.fd, &slot, 8 * possible_cpus()).expect("slot 3");
    assert_eq!(u64_sum(&values), 5);
}
