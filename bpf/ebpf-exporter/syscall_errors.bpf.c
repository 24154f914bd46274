// SPDX-License-Identifier: GPL-2.0
// System calls by name, and failed ones by name and errno, from the raw
// syscalls tracepoints, in ebpf_exporter's style (config in
// host/tests/e2e/ebpf_exporter/examples.rs):
//
// - `syscalls_total`: calls entered, by syscall number (`u32`);
// - `syscall_errors_total`: calls that returned an error, by syscall
//   number and errno (`u32` each, errno positive).
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "counting.h"

struct syscall_error {
	__u32 nr;
	__u32 err;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} syscalls_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct syscall_error);
	__type(value, __u64);
} syscall_errors_total SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int count_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 nr = (__u32)ctx->id;

	add_to(&syscalls_total, &nr, 1);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int count_error(struct trace_event_raw_sys_exit *ctx)
{
	struct syscall_error key = {};

	/* Errors are -4095..-1; other negative values are addresses. */
	if (ctx->ret >= 0 || ctx->ret < -4095)
		return 0;
	key.nr = (__u32)ctx->id;
	key.err = (__u32)-ctx->ret;
	add_to(&syscall_errors_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
