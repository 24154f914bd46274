// SPDX-License-Identifier: GPL-2.0
// Program executions per cgroup, split by whether the agent put the cgroup
// in a cgroup id map: `cgroup_id_map` in ebpf_exporter's configs. Used by
// the cgroup id map's kernel test (host/src/cgroup_id_map/) and the e2e
// test of `bpfhost ebpf-exporter` (host/tests/e2e/ebpf_exporter.rs).
//
// - `cgroup_execs_total`: execs in cgroups in `cgroup_ids` (a `hash` map
//   keyed by cgroup id), by cgroup id;
// - `cgroup_execs_unmatched_total`: execs in every other cgroup;
// - `cgroup_storage_execs_total`: execs in cgroups whose storage in
//   `cgroup_ids_storage` (a `cgrp_storage` map) the agent set to 1.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "counting.h"

#define COUNTER(name)                              \
	struct {                                   \
		__uint(type, BPF_MAP_TYPE_LRU_HASH); \
		__uint(max_entries, 1024);         \
		__type(key, __u64);                \
		__type(value, __u64);              \
	} name SEC(".maps")

COUNTER(cgroup_execs_total);
COUNTER(cgroup_execs_unmatched_total);
COUNTER(cgroup_storage_execs_total);

/* Filled by the agent: cgroup id -> 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} cgroup_ids SEC(".maps");

/* Filled by the agent: 1 in the storage of every matching cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} cgroup_ids_storage SEC(".maps");

SEC("tp_btf/sched_process_exec")
int BPF_PROG(cgroup_exec, struct task_struct *p)
{
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u64 *matched;

	if (bpf_map_lookup_elem(&cgroup_ids, &cgroup_id))
		add_to(&cgroup_execs_total, &cgroup_id, 1);
	else
		add_to(&cgroup_execs_unmatched_total, &cgroup_id, 1);

	/* Without BPF_LOCAL_STORAGE_GET_F_CREATE: a cgroup the agent never
	 * wrote has no storage. */
	matched = bpf_cgrp_storage_get(&cgroup_ids_storage, p->cgroups->dfl_cgrp, 0, 0);
	if (matched && *matched)
		add_to(&cgroup_storage_execs_total, &cgroup_id, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
