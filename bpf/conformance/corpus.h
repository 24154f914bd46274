/* SPDX-License-Identifier: GPL-2.0 */
/* What every object of the conformance corpus includes: the kernel's types
 * and libbpf's helper headers, as libbpf-tools include them, and a GPL
 * license (several helpers and kfuncs need it). */
#pragma once
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";
