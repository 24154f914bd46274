// CO-RE field accesses into arrays: `ctx->args[N]` of a syscall
// tracepoint (struct trace_event_raw_sys_enter, args[6] mid-struct) and of
// a raw tracepoint (struct bpf_raw_tracepoint_args, flexible args[0]).
#include "corpus.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} flags_by_pid SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 flags = BPF_CORE_READ(ctx, args[2]);
	const char *path = (const char *)ctx->args[1];
	char first = 0;

	bpf_probe_read_user(&first, 1, path);
	if (first == '/')
		bpf_map_update_elem(&flags_by_pid, &pid, &flags, BPF_ANY);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 flags;

	if (ctx->args[1] != 257 /* openat on x86_64 */)
		return 0;
	flags = PT_REGS_PARM3_CORE(regs);
	bpf_map_update_elem(&flags_by_pid, &pid, &flags, BPF_ANY);
	return 0;
}
