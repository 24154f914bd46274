// SPDX-License-Identifier: GPL-2.0
// Exec events: one record per successful execve(2), pushed through the ring
// buffer `execs` as the new program starts: its pid and its command (the
// 16-byte comm, already the new program's at sched_process_exec).
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct exec_event {
	__u32 pid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} execs SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct exec_event *event;

	event = bpf_ringbuf_reserve(&execs, sizeof(*event), 0);
	if (!event)
		return 0; /* full: the reader is behind, the record is lost */
	event->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	bpf_ringbuf_submit(event, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
