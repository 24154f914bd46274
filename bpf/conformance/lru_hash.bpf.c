// LRU hashes, shared and per-CPU, keyed by a struct (pid + comm).
#include "corpus.h"

struct proc_key {
	__u32 pid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct proc_key);
	__type(value, __u64);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} calls_per_cpu SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int lru(void *ctx)
{
	struct proc_key key = { .pid = bpf_get_current_pid_tgid() >> 32 };
	__u64 one = 1, *count;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	count = bpf_map_lookup_elem(&calls, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&calls, &key, &one, BPF_NOEXIST);
	count = bpf_map_lookup_elem(&calls_per_cpu, &key.pid);
	if (count)
		*count += 1;
	else
		bpf_map_update_elem(&calls_per_cpu, &key.pid, &one, BPF_NOEXIST);
	return 0;
}
