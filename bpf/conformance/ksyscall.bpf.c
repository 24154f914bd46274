// ksyscall/kretsyscall programs written with BPF_KSYSCALL (libbpf 1.0):
// kprobes on a system call's architecture wrapper (__x64_sys_openat),
// reading the syscall's own arguments.
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} flags_by_tid SEC(".maps");

SEC("ksyscall/openat")
int BPF_KSYSCALL(openat_entry, int dfd, const char *path, int flags)
{
	__u32 tid = bpf_get_current_pid_tgid();
	__u64 value = flags;

	bpf_map_update_elem(&flags_by_tid, &tid, &value, BPF_ANY);
	return 0;
}

SEC("kretsyscall/openat")
int BPF_KRETPROBE(openat_exit, long ret)
{
	__u32 tid = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&flags_by_tid, &tid);
	return 0;
}
