// fentry/fexit programs written with BPF_PROG, typed by the kernel
// function they attach to (vfs_read), the fexit one seeing the return
// value. Kernels that forbid BPF trampolines refuse both loaders alike.
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} started SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bytes SEC(".maps");

SEC("fentry/vfs_read")
int BPF_PROG(read_entry, struct file *file, char *buf, size_t count)
{
	__u32 tid = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&started, &tid, &now, BPF_ANY);
	return 0;
}

SEC("fexit/vfs_read")
int BPF_PROG(read_exit, struct file *file, char *buf, size_t count, loff_t *pos, ssize_t ret)
{
	__u32 tid = bpf_get_current_pid_tgid(), zero = 0;
	__u64 *total = bpf_map_lookup_elem(&bytes, &zero);

	bpf_map_delete_elem(&started, &tid);
	if (total && ret > 0)
		__sync_fetch_and_add(total, ret);
	return 0;
}
