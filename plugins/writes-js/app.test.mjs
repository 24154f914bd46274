// The decoding logic under plain Node.js (no wasm): `npm test`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { decode, entries } from "./app.js";

function map(keys, values, cpus = 1) {
  return { name: "writes_by_process", keySize: 20, valueSize: 8, entries: 1, cpus, keys, values };
}

function key(pid, comm) {
  const bytes = new Uint8Array(20);
  new DataView(bytes.buffer).setUint32(0, pid, true);
  bytes.set(new TextEncoder().encode(comm), 4);
  return bytes;
}

function counts(...values) {
  const bytes = new Uint8Array(8 * values.length);
  values.forEach((v, i) => new DataView(bytes.buffer).setBigUint64(8 * i, v, true));
  return bytes;
}

test("pid, comm and count", () => {
  assert.deepEqual([...entries(map(key(4242, "bash"), counts(17n)))], [[4242, "bash", 17n]]);
});

test("per-CPU slots are summed", () => {
  assert.deepEqual([...entries(map(key(1, "sh"), counts(2n, 3n), 2))], [[1, "sh", 5n]]);
});

test("labels are packed with their ends", () => {
  const out = decode([map(key(7, "sh"), counts(9n))]);
  assert.equal(out.labelValues, "7sh");
  assert.deepEqual(out.labelEnds, [1, 3]);
  assert.deepEqual(out.samples, [{ family: 0, labels: { first: 0, count: 2 }, value: 9 }]);
});
