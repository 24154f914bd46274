// Builds app.js into a decoder component: `node build.mjs WIT_DIR OUT.wasm`.
// The features the decoder does not use are left out of the JavaScript
// engine, so the component imports as little WASI as it can.
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";

import { componentize } from "@bytecodealliance/componentize-js";

const [wit, out] = process.argv.slice(2);
if (!wit || !out) {
  console.error("usage: node build.mjs WIT_DIR OUT.wasm");
  process.exit(2);
}
const { component } = await componentize({
  sourcePath: resolve(import.meta.dirname, "app.js"),
  witPath: resolve(wit),
  worldName: "decoder",
  disableFeatures: ["http", "fetch-event", "stdio", "clocks", "random"],
});
await writeFile(out, component);
