// SPDX-License-Identifier: GPL-2.0
// Adding to a `u64` value of a hash map, inserting the key on first use.
#ifndef BPFHOST_EBPF_EXPORTER_COUNTING_H
#define BPFHOST_EBPF_EXPORTER_COUNTING_H

#include <bpf/bpf_helpers.h>

/* Adds `n` to `map[key]`. Two CPUs may race to insert a key: the one whose
 * insert fails adds to the value the other inserted. Atomic, so it serves
 * shared and per-CPU maps alike. */
static __always_inline void add_to(void *map, const void *key, __u64 n)
{
	__u64 *value = bpf_map_lookup_elem(map, key);

	if (value) {
		__sync_fetch_and_add(value, n);
		return;
	}
	if (bpf_map_update_elem(map, key, &n, BPF_NOEXIST)) {
		value = bpf_map_lookup_elem(map, key);
		if (value)
			__sync_fetch_and_add(value, n);
	}
}

#endif
