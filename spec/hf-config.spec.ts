/**
 * Reading Hugging Face folders: config.json in transformers 4's and 5's spellings, the defaults
 * save_pretrained relies on, generation_config.json's EOS, the refusals (every field that would change
 * the forward and is not implemented), sharded checkpoints and the index treated as untrusted input.
 * The folders here are ours, edited; spec/hf-folders.spec.ts checks folders transformers wrote.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CheckpointError } from "../src/model/checkpoint.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/node/checkpoint-folder.ts";
import { ConfigError, fromHfConfig, PRESETS, toHfConfig, type ModelConfig } from "../src/model/config.ts";
import { arGreedy } from "../src/decoding/greedy.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { initParams, namedParams } from "../src/model/params.ts";
import { ropeFrequencies } from "../src/model/rope.ts";
import { decodeSafetensors, encodeSafetensors } from "../src/model/safetensors.ts";
import { CharTokenizer } from "../src/model/tokenizer.ts";
import { forward } from "../src/model/transformer.ts";

const root = mkdtempSync(join(tmpdir(), "jf-hf-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A saved tiny model whose config.json has been through `edit`. */
function folder(edit: (json: Record<string, unknown>) => void = () => {}, config: ModelConfig = PRESETS.tiny): string {
  const dir = join(root, `m${counter++}`);
  saveCheckpoint(dir, { config, params: initParams(config, { seed: 3, std: 0.3 }), tokenizer: CharTokenizer.ascii() });
  const json = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  edit(json);
  writeFileSync(join(dir, "config.json"), JSON.stringify(json));
  return dir;
}

const hf = toHfConfig(PRESETS.tiny);

describe("config.json spellings and defaults", () => {
  it("transformers 5's rope_parameters reads as transformers 4's rope_theta and rope_scaling", () => {
    const scaling = { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 };
    const v4 = fromHfConfig({ ...hf, rope_theta: 500000, rope_scaling: scaling }, "v4.json");
    const { rope_theta: _, rope_scaling: __, ...rest } = hf;
    const v5 = fromHfConfig({ ...rest, rope_parameters: { rope_theta: 500000, ...scaling } }, "v5.json");
    expect(v5).toEqual(v4);
    expect(v4.ropeScaling).toEqual({ type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 32 });
    expect(fromHfConfig(toHfConfig(v4), "again.json")).toEqual(v4);
    // the older key "type" too, and rope_type "default" means none
    expect(fromHfConfig({ ...hf, rope_scaling: { type: "linear", factor: 2 } }, "c").ropeScaling).toEqual({ type: "linear", factor: 2 });
    expect(fromHfConfig({ ...rest, rope_parameters: { rope_type: "default", rope_theta: 10000 } }, "c").ropeScaling).toBeUndefined();
  });

  it("fields a config leaves out take the defaults of transformers' config classes; null BOS and pad; EOS lists", () => {
    const { num_key_value_heads: _, head_dim: __, tie_word_embeddings: ___, bos_token_id: ____, pad_token_id: _____, ...rest } = hf;
    const c = fromHfConfig({ ...rest, eos_token_id: [2, 5] }, "c");
    expect([c.numKeyValueHeads, c.headDim, c.tieWordEmbeddings, c.bosTokenId, c.padTokenId, c.eosTokenId]).toEqual([4, undefined, false, 1, null, [2, 5]]);
    const { eos_token_id: ______, ...noEos } = rest;
    const qwen3 = fromHfConfig({ ...noEos, architectures: ["Qwen3ForCausalLM"] }, "c");
    expect([qwen3.headDim, qwen3.bosTokenId, qwen3.eosTokenId]).toEqual([128, null, []]);
    expect(fromHfConfig({ ...hf, bos_token_id: null }, "c").bosTokenId).toBeNull();
    expect(fromHfConfig({ ...hf, pad_token_id: null, eos_token_id: 2 }, "c").padTokenId).toBeNull();
    expect(fromHfConfig({ ...hf, model_type: "qwen2", architectures: ["Qwen2ForCausalLM"] }, "c").attentionBias).toBe(true);
    expect(fromHfConfig({ ...hf, head_dim: 8 }, "c").headDim).toBe(8);
    // generation_config.json's eos_token_id is the one generate stops at
    expect(fromHfConfig(hf, "c", { eos_token_id: [2, 7] }).eosTokenId).toEqual([2, 7]);
  });

  it("yarn takes transformers' defaults: beta 32 and 1, truncation, the context as the original one, 0.1 ln(factor) + 1", () => {
    const c = fromHfConfig({ ...hf, rope_scaling: { rope_type: "yarn", factor: 4 } }, "c");
    expect(c.ropeScaling).toEqual({ type: "yarn", factor: 4, originalMaxPositions: 128, betaFast: 32, betaSlow: 1, attentionFactor: 0.1 * Math.log(4) + 1, truncate: true });
    const m = fromHfConfig({ ...hf, rope_scaling: { rope_type: "yarn", factor: 4, mscale: 2, mscale_all_dim: 1 } }, "c").ropeScaling;
    expect(m?.type === "yarn" && m.attentionFactor).toBeCloseTo((0.2 * Math.log(4) + 1) / (0.1 * Math.log(4) + 1), 15);
  });
});

describe("what would change the forward and is not implemented is refused by name", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["another architecture", { architectures: ["GemmaForCausalLM"] }, /architecture "GemmaForCausalLM" is not implemented/],
    ["another activation", { hidden_act: "gelu" }, /hidden_act "gelu": only SiLU/],
    ["MLP biases", { mlp_bias: true }, /mlp_bias true: MLP biases are not implemented/],
    ["a sliding window in use (Qwen2)", { architectures: ["Qwen2ForCausalLM"], use_sliding_window: true, sliding_window: 64 }, /use_sliding_window true: sliding-window attention/],
    ["sliding layers (transformers 5)", { layer_types: ["full_attention", "sliding_attention"] }, /layer_types \["full_attention","sliding_attention"\]/],
    ["a Mistral sliding window within the context", { architectures: ["MistralForCausalLM"], sliding_window: 64 }, /sliding_window 64: sliding-window attention/],
    ["Mistral's default window within the context", { architectures: ["MistralForCausalLM"], max_position_embeddings: 8192, sliding_window: undefined },
      /sliding_window 4096 \(Mistral's default\): sliding-window attention/],
    ["a YaRN factor that transformers versions read differently", { rope_scaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 64 } },
      /yarn factor 4 is not max_position_embeddings \/ original_max_position_embeddings = 128 \/ 64/],
    ["partial rotary", { partial_rotary_factor: 0.5 }, /partial_rotary_factor 0.5/],
    ["dynamic RoPE", { rope_scaling: { rope_type: "dynamic", factor: 2 } }, /rope type "dynamic" is not implemented \(default, linear, llama3 and yarn are\)/],
    ["llama3 RoPE without its fields", { rope_scaling: { rope_type: "llama3", factor: 8 } }, /rope type llama3 needs a number "low_freq_factor"/],
    ["Llama attention biases (o_proj too)", { attention_bias: true }, /attention_bias true: biases on the LlamaForCausalLM attention projections/],
    ["quantised weights", { quantization_config: { quant_method: "gptq" } }, /quantization_config .*quantised weights are not supported/],
    ["no RoPE theta", { rope_theta: undefined }, /missing field "rope_theta"/],
  ];
  for (const [label, change, message] of cases) {
    it(label, () => {
      expect(() => fromHfConfig({ ...hf, ...change }, "config.json")).toThrow(ConfigError);
      expect(() => fromHfConfig({ ...hf, ...change }, "config.json")).toThrow(message);
      // and through a folder, as one CheckpointError line naming config.json
      const dir = folder((json) => Object.assign(json, change));
      expect(() => loadCheckpoint(dir)).toThrow(CheckpointError);
      expect(() => loadCheckpoint(dir)).toThrow(/config\.json: /);
    });
  }
  it("harmless values of those fields load", () => {
    expect(fromHfConfig({ ...hf, architectures: ["MistralForCausalLM"] }, "c").maxPositions).toBe(128); // the default window 4096 never binds
    expect(toHfConfig({ ...PRESETS.tiny, architecture: "MistralForCausalLM" }).sliding_window).toBeNull();
    const c = fromHfConfig({ ...hf, architectures: ["Qwen2ForCausalLM"], use_sliding_window: false, sliding_window: 4096, mlp_bias: false,
      partial_rotary_factor: 1, layer_types: ["full_attention", "full_attention"], attn_logit_softcapping: null }, "c");
    expect(c.architecture).toBe("Qwen2ForCausalLM");
  });
});

describe("RoPE scaling", () => {
  it("linear divides every frequency; llama3 divides the long wavelengths only, keeps the short ones, blends between", () => {
    const D = 16, config = { ...PRESETS.tiny, headDim: D, numHeads: 4, ropeTheta: 500000 };
    const plain = ropeFrequencies(config).inverse;
    expect([...ropeFrequencies({ ...config, ropeScaling: { type: "linear", factor: 4 } }).inverse]).toEqual([...plain].map((f) => f / 4));
    const llama3 = ropeFrequencies({ ...config, ropeScaling: { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } }).inverse;
    plain.forEach((f, j) => {
      const wavelength = (2 * Math.PI) / f;
      if (wavelength < 16) expect(llama3[j]).toBe(f);
      else if (wavelength > 64) expect(llama3[j]).toBe(f / 8);
      else expect(llama3[j] > f / 8 && llama3[j] < f).toBe(true);
    });
    expect(new Set(Array.from(plain, (f) => (2 * Math.PI / f < 16 ? "kept" : 2 * Math.PI / f > 64 ? "divided" : "blended"))).size).toBe(3);
  });

  it("the forward uses the scaled frequencies: logits change with the scaling, and position 0 alone does not see it", () => {
    const params = initParams(PRESETS.tiny, { seed: 5, std: 0.3 });
    const scaled = { ...PRESETS.tiny, ropeScaling: { type: "linear", factor: 4 } } as const;
    expect(forward(scaled, params, [1]).data).toEqual(forward(PRESETS.tiny, params, [1]).data);
    expect(forward(scaled, params, [1, 5, 9]).data).not.toEqual(forward(PRESETS.tiny, params, [1, 5, 9]).data);
  });
});

describe("EOS lists", () => {
  it("any EOS of the list ends AR and Jacobi, at the same token", () => {
    const params = initParams(PRESETS.tiny, { seed: 2, std: 0.5 });
    const free = arGreedy(PRESETS.tiny, params, [1, 40, 41], { maxNewTokens: 30, eosTokenId: null }).tokens;
    const stop = [free[7], free[12]];
    const config = { ...PRESETS.tiny, eosTokenId: stop };
    const end = free.findIndex((t) => stop.includes(t)) + 1;
    const ar = arGreedy(config, params, [1, 40, 41], { maxNewTokens: 30 });
    expect(ar.tokens).toEqual(free.slice(0, end));
    expect(ar.stats.stopReason).toBe("eos");
    expect(jacobi(config, params, [1, 40, 41], { maxNewTokens: 30, blockSize: 4 }).tokens).toEqual(ar.tokens);
  });
});

describe("sharded checkpoints are read shard by shard and their index is untrusted", () => {
  /** A tiny model split into two shards with an index; `edit` may change the weight map or the shards. */
  function sharded(edit: (map: Record<string, string>, shards: Map<string, { name: string; shape: readonly number[]; data: Float64Array }[]>) => void = () => {}): string {
    const dir = folder();
    const { tensors } = decodeSafetensors(readFileSync(join(dir, "model.safetensors")), "model.safetensors");
    rmSync(join(dir, "model.safetensors"));
    const all = [...tensors.values()].map(({ name, shape, data }) => ({ name, shape, data }));
    const shards = new Map([["model-00001-of-00002.safetensors", all.slice(0, 9)], ["model-00002-of-00002.safetensors", all.slice(9)]]);
    const map: Record<string, string> = {};
    for (const [file, list] of shards) for (const t of list) map[t.name] = file;
    edit(map, shards);
    for (const [file, list] of shards) writeFileSync(join(dir, file), encodeSafetensors(list));
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 0 }, weight_map: map }));
    return dir;
  }

  it("two shards load to the same weights as one file", () => {
    const one = loadCheckpoint(folder());
    const two = loadCheckpoint(sharded());
    expect(namedParams(two.config, two.params).map(([n, t]) => [n, [...t.data]])).toEqual(namedParams(one.config, one.params).map(([n, t]) => [n, [...t.data]]));
  });

  const cases: [string, Parameters<typeof sharded>[0], RegExp][] = [
    ["an index naming a file in another folder", (map) => { map["model.norm.weight"] = "../elsewhere.safetensors"; }, /names "\.\.\/elsewhere\.safetensors", which is not a file of this folder/],
    ["an index naming an absolute path", (map) => { map["model.norm.weight"] = "/etc/passwd"; }, /names "\/etc\/passwd", which is not a file of this folder/],
    ["a tensor missing from every shard", (map, shards) => { shards.get("model-00002-of-00002.safetensors")!.pop(); }, /is missing/],
    ["a tensor in two shards", (map, shards) => { shards.get("model-00002-of-00002.safetensors")!.push(shards.get("model-00001-of-00002.safetensors")![0]); }, /is (present twice|not where model\.safetensors\.index\.json puts it)/],
    ["a tensor in the wrong shard", (map) => { map["model.embed_tokens.weight"] = "model-00002-of-00002.safetensors"; }, /"model\.embed_tokens\.weight": is not where model\.safetensors\.index\.json puts it/],
    ["a shard the index names that is not there", (map, shards) => {
      map["model.norm.weight"] = "model-00003-of-00002.safetensors";
      const second = shards.get("model-00002-of-00002.safetensors")!;
      second.splice(second.findIndex((t) => t.name === "model.norm.weight"), 1);
    }, /model-00003-of-00002\.safetensors: cannot be read \(ENOENT\)/],
  ];
  for (const [label, edit, message] of cases) {
    it(label, () => {
      const dir = sharded(edit);
      expect(() => loadCheckpoint(dir)).toThrow(CheckpointError);
      expect(() => loadCheckpoint(dir)).toThrow(message);
    });
  }

  it("a shape that disagrees with config.json is named", () => {
    const dir = folder((json) => { json.intermediate_size = 48; });
    expect(() => loadCheckpoint(dir)).toThrow(/tensor "model\.layers\.0\.mlp\.gate_proj\.weight": has shape \[32, 16\] but the config implies \[48, 16\]/);
  });
});

describe("Qwen3 and Mistral", () => {
  it("a Qwen3 config with its own head size saves and loads with its q/k norms, and its forward uses them", () => {
    const config: ModelConfig = { ...PRESETS.tiny, architecture: "Qwen3ForCausalLM", headDim: 8 };
    const dir = folder(() => {}, config);
    const loaded = loadCheckpoint(dir);
    expect(loaded.config).toEqual(config);
    expect(loaded.params.layers[0].qNorm?.shape).toEqual([8]);
    const params = initParams(config, { seed: 4, std: 0.3 });
    const before = forward(config, params, [1, 2, 3]).data;
    params.layers[0].qNorm!.data[0] = 3;
    expect(forward(config, params, [1, 2, 3]).data).not.toEqual(before);
  });
  it("Mistral without a sliding window is Llama", () => {
    const params = initParams(PRESETS.tiny, { seed: 4, std: 0.3 });
    expect(forward({ ...PRESETS.tiny, architecture: "MistralForCausalLM" }, params, [1, 2, 3]).data).toEqual(forward(PRESETS.tiny, params, [1, 2, 3]).data);
    const c = fromHfConfig({ ...hf, architectures: ["MistralForCausalLM"], model_type: "mistral", sliding_window: null }, "c");
    expect(c.architecture).toBe("MistralForCausalLM");
  });
});
