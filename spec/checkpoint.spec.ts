import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { CheckpointError } from "../src/model/checkpoint.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/node/checkpoint-folder.ts";
import { PRESETS, toHfConfig, type ModelConfig } from "../src/model/config.ts";
import { initParams, namedParams } from "../src/model/params.ts";
import { encodeSafetensors } from "../src/model/safetensors.ts";
import { CharTokenizer } from "../src/model/tokenizer.ts";
import { forward } from "../src/model/transformer.ts";
import { referenceLogits, type HfConfig } from "./reference/llama-reference.ts";
import { expectBitIdentical, tinyConfigArb } from "./helpers/models.ts";

const root = mkdtempSync(join(tmpdir(), "jf-checkpoint-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `m${counter++}`);

function writeTiny(config: ModelConfig = PRESETS.tiny, seed = 1): string {
  const dir = freshDir();
  saveCheckpoint(dir, { config, params: initParams(config, { seed, std: 0.3 }), tokenizer: CharTokenizer.ascii() });
  return dir;
}

describe("checkpoint round trip", () => {
  it("save then load gives bit-identical weights, config and tokenizer (F32 and F64)", () => {
    fc.assert(
      fc.property(tinyConfigArb, fc.integer({ min: 0, max: 1000 }), fc.constantFrom("F32" as const, "F64" as const), (config, seed, dtype) => {
        const params = initParams(config, { seed, std: 0.3 });
        const dir = freshDir();
        saveCheckpoint(dir, { config, params, tokenizer: CharTokenizer.fromText("abc\n") }, { dtype });
        const loaded = loadCheckpoint(dir);
        expect(loaded.config).toEqual(config);
        expect(loaded.tokenizer).toBeInstanceOf(CharTokenizer);
        expect((loaded.tokenizer as CharTokenizer).chars).toEqual(["\n", "a", "b", "c"]);
        const a = namedParams(config, params);
        const b = namedParams(loaded.config, loaded.params);
        a.forEach(([name, t], i) => {
          expect(b[i][0]).toBe(name);
          expectBitIdentical(name, b[i][1].data, t.data);
        });
        if (config.tieWordEmbeddings) expect(loaded.params.lmHead).toBe(loaded.params.embed);
        expect(readdirSync(dir).sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
      }),
      { numRuns: 15 },
    );
  });

  it("config.json carries the Hugging Face field names", () => {
    const json = JSON.parse(readFileSync(join(writeTiny(), "config.json"), "utf8"));
    for (const key of ["architectures", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
      "num_key_value_heads", "vocab_size", "max_position_embeddings", "rope_theta", "rms_norm_eps", "tie_word_embeddings",
      "attention_bias", "bos_token_id", "eos_token_id", "pad_token_id"]) {
      expect(json).toHaveProperty(key);
    }
    expect(json.architectures).toEqual(["LlamaForCausalLM"]);
  });
});

describe("agreement with an independent float64 Llama implementation", () => {
  it("logits of checkpoints written by init agree to 1e-9 relative", () => {
    fc.assert(
      fc.property(tinyConfigArb, fc.integer({ min: 0, max: 1000 }), fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 12 }), (config, seed, tokens) => {
        const dir = freshDir();
        saveCheckpoint(dir, { config, params: initParams(config, { seed, std: 0.5 }), tokenizer: null });
        const { config: c, params } = loadCheckpoint(dir);
        const ours = forward(c, params, tokens);
        // the reference reads the same files, by Hugging Face names
        const hf = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as HfConfig;
        const weights = new Map(namedParams(c, params).map(([name, t]) => [name, { shape: t.shape, data: t.data }]));
        const ref = referenceLogits(hf, weights, tokens);
        let worst = 0;
        let where = "";
        ref.forEach((row, i) => row.forEach((r, j) => {
          const rel = Math.abs(ours.data[i * c.vocabSize + j] - r) / Math.max(Math.abs(r), 1e-6);
          if (rel > worst) { worst = rel; where = `row ${i}, column ${j}`; }
        }));
        expect(worst, `largest relative difference at ${where}`).toBeLessThan(1e-9);
      }),
      { numRuns: 20 },
    );
  });
});

describe("a bad checkpoint is a CheckpointError that names the problem", () => {
  function withWeights(mutate: (tensors: { name: string; shape: readonly number[]; data: Float64Array }[]) => void): string {
    const dir = writeTiny();
    const { config, params } = loadCheckpoint(dir);
    const tensors = namedParams(config, params).map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
    mutate(tensors);
    writeFileSync(join(dir, "model.safetensors"), encodeSafetensors(tensors));
    return dir;
  }
  const cases: [string, () => string, RegExp][] = [
    ["missing folder", () => join(root, "nope"), /is not a checkpoint folder/],
    ["missing tensor", () => withWeights((t) => t.splice(3, 1)), /tensor "model.layers.0.self_attn.k_proj.weight": is missing/],
    ["unexpected tensor", () => withWeights((t) => t.push({ name: "extra", shape: [1], data: new Float64Array(1) })), /"extra": is not a weight of this config/],
    ["shape mismatch", () => withWeights((t) => { t[1] = { ...t[1], shape: [8, 2], data: new Float64Array(16) }; }), /has shape \[8, 2\] but the config implies \[16\]/],
    ["config not JSON", () => { const d = writeTiny(); writeFileSync(join(d, "config.json"), "{oops"); return d; }, /config.json: is not valid JSON/],
    ["config missing a field", () => { const d = writeTiny(); const j = toHfConfig(PRESETS.tiny); delete j.rope_theta; writeFileSync(join(d, "config.json"), JSON.stringify(j)); return d; }, /missing field "rope_theta"/],
    ["config with a bad value", () => { const d = writeTiny(); writeFileSync(join(d, "config.json"), JSON.stringify({ ...toHfConfig(PRESETS.tiny), num_key_value_heads: 3 })); return d; }, /numKeyValueHeads 3 must divide numHeads 4/],
    ["truncated weights", () => { const d = writeTiny(); const f = join(d, "model.safetensors"); writeFileSync(f, readFileSync(f).subarray(0, 200)); return d; }, /model.safetensors/],
    ["bad tokenizer", () => { const d = writeTiny(); writeFileSync(join(d, "tokenizer.json"), JSON.stringify({ type: "bpe" })); return d; }, /tokenizer.json: neither a Hugging Face tokenizer \(no "model" object\) nor our old format/],
  ];
  for (const [label, make, message] of cases) {
    it(label, () => {
      const dir = make();
      expect(() => loadCheckpoint(dir)).toThrow(CheckpointError);
      expect(() => loadCheckpoint(dir)).toThrow(message);
    });
  }

  it("random byte edits and truncations end in a valid load or a CheckpointError, never another exception", () => {
    const dir = writeTiny();
    const file = join(dir, "model.safetensors");
    const original = readFileSync(file);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        (edits, cut) => {
          const bytes = Uint8Array.from(original);
          for (const [at, value] of edits) bytes[at % 400] = value; // mostly the header, where structure lives
          writeFileSync(file, cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length));
          try {
            loadCheckpoint(dir);
          } catch (e) {
            if (!(e instanceof CheckpointError)) throw e;
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
