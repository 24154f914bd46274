"""Decoder for `bpf/writes.bpf.c`, in Python: write(2) calls per process.

The same series as the Rust decoder in `plugins/writes`: the program counts
into `writes_by_process`, an LRU hash keyed by
`struct { __u32 pid; char comm[16]; }` with a `__u64` count.

Built with componentize-py against the agent's WIT world
(`cargo xtask build-plugins`, or `bpfhost plugin build`); `test_app.py`
tests the decoding logic with plain CPython.
"""

from __future__ import annotations

import struct

import wit_world
from componentize_py_types import Err
from wit_world.imports import types

MAP = "writes_by_process"
KEY = struct.Struct("<I16s")
VALUE = struct.Struct("<Q")


def decode_entries(keys: bytes, values: bytes, entries: int, cpus: int, value_size: int):
    """Yields `(pid, comm, count)` per entry, per-CPU slots summed."""
    stride = (value_size + 7) // 8 * 8 if cpus > 1 else value_size
    for i in range(entries):
        pid, comm = KEY.unpack_from(keys, i * KEY.size)
        base = i * cpus * stride
        count = sum(VALUE.unpack_from(values, base + c * stride)[0] for c in range(cpus))
        yield pid, comm.split(b"\0", 1)[0].decode("utf-8", "replace"), count


class WitWorld(wit_world.WitWorld):
    def init(self, config: str) -> types.Spec:
        family = types.Family(
            name="write_syscalls",
            help="write(2) calls, by process",
            metric_type=types.MetricType.COUNTER,
            unit="",
            labels=["pid", "comm"],
            buckets=[],
        )
        return types.Spec(families=[family], maps=[MAP], events=[])

    def decode(self, maps: list[types.MapSnapshot], now: int) -> types.Output:
        snapshot = next((m for m in maps if m.name == MAP), None)
        if snapshot is None:
            raise Err(types.Error_BadMap(f"map {MAP} is missing"))
        if snapshot.key_size != KEY.size or snapshot.value_size != VALUE.size:
            raise Err(types.Error_BadMap(
                f"{MAP}: expected {KEY.size}-byte keys and {VALUE.size}-byte values, "
                f"got {snapshot.key_size} and {snapshot.value_size}"))
        labels = []
        ends = []
        samples = []
        size = 0
        rows = decode_entries(snapshot.keys, snapshot.values, snapshot.entries,
                              snapshot.cpus, snapshot.value_size)
        for pid, comm, count in rows:
            first = len(ends)
            for value in (str(pid), comm):
                labels.append(value)
                size += len(value.encode())
                ends.append(size)
            samples.append(types.Sample(
                family=0, labels=types.LabelRange(first=first, count=2), value=float(count)))
        return types.Output(label_values="".join(labels), label_ends=ends,
                            samples=samples, histograms=[])

    def on_events(self, batch: types.EventBatch) -> None:
        raise Err(types.Error_Failed("this decoder declares no event source"))
