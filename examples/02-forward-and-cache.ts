/**
 * Example 2 — the transformer and its KV cache.
 *
 * Builds the `tiny` model with random weights, runs one forward over a whole sequence, then feeds the
 * same sequence through the KV cache in uneven chunks, and shows that the logits are bit-identical.
 * Then it rolls the cache back (what Jacobi decoding does with rejected drafts) and shows that the
 * rolled-back cache behaves exactly as if the dropped tokens had never been forwarded.
 *
 * Run: npx tsx examples/02-forward-and-cache.ts
 */
import { KVCache } from "../src/model/cache.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import { argmax } from "../src/tensor/ops.ts";

const config = PRESETS.tiny;
const params = initParams(config, { seed: 7, std: 0.5 });
const tokens = [1, 40, 41, 42, 43, 44, 45, 46];
console.log(`tiny model: ${config.numLayers} layers, width ${config.hiddenSize}, vocab ${config.vocabSize}`);

// 1. one forward over the whole sequence: [T, V] logits
const full = forward(config, params, tokens);
console.log(`full forward over ${tokens.length} tokens -> logits [${full.shape.join(", ")}]`);
console.log(`greedy next token after each position: ${Array.from(argmax(full)).join(" ")}`);

// 2. the same tokens in chunks of 3, 1 and 4 through the cache
const cache = new KVCache(config);
const chunks = [tokens.slice(0, 3), tokens.slice(3, 4), tokens.slice(4)];
let row = 0;
let identical = true;
for (const chunk of chunks) {
  const logits = forward(config, params, chunk, { cache });
  for (let i = 0; i < logits.size; i++) if (!Object.is(logits.data[i], full.data[row * config.vocabSize + i])) identical = false;
  row += chunk.length;
  console.log(`forwarded a chunk of ${chunk.length}; the cache now holds ${cache.length} positions`);
}
console.log(`chunked logits bit-identical to the full forward: ${identical}`);

// 3. rollback: forward 3 draft tokens, keep 1 of them, continue
forward(config, params, [10, 11, 12], { cache });
console.log(`after 3 draft tokens the cache holds ${cache.length}; truncate to ${tokens.length + 1}`);
cache.truncate(tokens.length + 1);
const afterRollback = forward(config, params, [13], { cache });
const clean = new KVCache(config);
forward(config, params, [...tokens, 10], { cache: clean });
const neverDrafted = forward(config, params, [13], { cache: clean });
const same = afterRollback.data.every((v, i) => Object.is(v, neverDrafted.data[i]));
console.log(`logits after the rollback equal those of a cache that never saw the drafts: ${same}`);
if (!identical || !same) throw new Error("example 2: the cache is not exact — a bug");
