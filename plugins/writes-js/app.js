// Decoder for `bpf/writes.bpf.c`, in JavaScript: write(2) calls per process.
//
// The same series as the Rust decoder in `plugins/writes`: the program
// counts into `writes_by_process`, an LRU hash keyed by
// `struct { __u32 pid; char comm[16]; }` with a `__u64` count.
//
// Built with componentize-js against the agent's WIT world
// (`cargo xtask build-plugins` runs `build.mjs`); `npm test` tests the
// decoding logic with plain Node.js.

const MAP = "writes_by_process";
const KEY_SIZE = 4 + 16;
const VALUE_SIZE = 8;

const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** `[pid, comm, count]` per entry, per-CPU slots summed. */
export function* entries(map) {
  const keys = new DataView(map.keys.buffer, map.keys.byteOffset, map.keys.byteLength);
  const values = new DataView(map.values.buffer, map.values.byteOffset, map.values.byteLength);
  const stride = map.cpus > 1 ? Math.ceil(map.valueSize / 8) * 8 : map.valueSize;
  for (let i = 0; i < map.entries; i++) {
    const pid = keys.getUint32(i * KEY_SIZE, true);
    const raw = map.keys.subarray(i * KEY_SIZE + 4, (i + 1) * KEY_SIZE);
    const nul = raw.indexOf(0);
    const comm = utf8.decode(nul < 0 ? raw : raw.subarray(0, nul));
    let count = 0n;
    for (let cpu = 0; cpu < map.cpus; cpu++) {
      count += values.getBigUint64((i * map.cpus + cpu) * stride, true);
    }
    yield [pid, comm, count];
  }
}

export function init(_config) {
  return {
    families: [
      {
        name: "write_syscalls",
        help: "write(2) calls, by process",
        metricType: "counter",
        unit: "",
        labels: ["pid", "comm"],
        buckets: [],
      },
    ],
    maps: [MAP],
    events: [],
  };
}

export function decode(maps, _now) {
  const map = maps.find((m) => m.name === MAP);
  if (!map) {
    throw { tag: "bad-map", val: `map ${MAP} is missing` };
  }
  if (map.keySize !== KEY_SIZE || map.valueSize !== VALUE_SIZE) {
    throw {
      tag: "bad-map",
      val: `${MAP}: expected ${KEY_SIZE}-byte keys and ${VALUE_SIZE}-byte values, got ${map.keySize} and ${map.valueSize}`,
    };
  }
  const labels = [];
  const labelEnds = [];
  const samples = [];
  let size = 0;
  for (const [pid, comm, count] of entries(map)) {
    const first = labelEnds.length;
    for (const value of [String(pid), comm]) {
      labels.push(value);
      size += encoder.encode(value).length;
      labelEnds.push(size);
    }
    samples.push({ family: 0, labels: { first, count: 2 }, value: Number(count) });
  }
  return { labelValues: labels.join(""), labelEnds, samples, histograms: [] };
}

export function onEvents(_batch) {
  throw { tag: "failed", val: "this decoder declares no event source" };
}
