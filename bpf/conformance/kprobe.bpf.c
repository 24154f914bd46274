// kprobe and kretprobe programs written with BPF_KPROBE/BPF_KRETPROBE,
// reading typed arguments through pt_regs (vfsstat/biolatency's shape).
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} asked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} got SEC(".maps");

SEC("kprobe/vfs_read")
int BPF_KPROBE(vfs_read_entry, struct file *file, char *buf, size_t count)
{
	__u32 tid = bpf_get_current_pid_tgid();
	__u64 n = count;

	bpf_map_update_elem(&asked, &tid, &n, BPF_ANY);
	return 0;
}

SEC("kretprobe/vfs_read")
int BPF_KRETPROBE(vfs_read_exit, ssize_t ret)
{
	__u32 tid = bpf_get_current_pid_tgid(), zero = 0;
	__u64 *total = bpf_map_lookup_elem(&got, &zero);

	bpf_map_delete_elem(&asked, &tid);
	if (total && ret > 0)
		__sync_fetch_and_add(total, ret);
	return 0;
}
