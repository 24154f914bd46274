// SPDX-License-Identifier: GPL-2.0
// Counts write(2) calls per process (thread group id and command name).
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16

/* Only count this thread group; 0 counts every process. Set it from the
 * manifest's `globals: {target_tgid: 1234}`. */
const volatile __u32 target_tgid = 0;

struct writes_key {
	__u32 pid;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, struct writes_key);
	__type(value, __u64);
} writes_by_process SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_write")
int count_writes(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (target_tgid && tgid != target_tgid)
		return 0;

	struct writes_key key = { .pid = tgid };
	bpf_get_current_comm(&key.comm, sizeof(key.comm));

	__u64 *count = bpf_map_lookup_elem(&writes_by_process, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	__u64 one = 1;
	/* Another CPU may have inserted the key meanwhile: then add to it. */
	if (bpf_map_update_elem(&writes_by_process, &key, &one, BPF_NOEXIST)) {
		count = bpf_map_lookup_elem(&writes_by_process, &key);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
