/**
 * Lossless sampling: Jacobi and multi-block decoding with a temperature must draw from exactly the
 * distribution of AR sampling.
 *
 * The test: on a tiny model with a 3-token vocabulary, enumerate every output of up to 5 tokens
 * (EOS may end one early) with its exact probability under AR sampling, draw N = 3000 outputs from a
 * decoder, and run Pearson's chi-square goodness-of-fit test (outcomes expected fewer than 5 times
 * pooled). The decoder fails when p < alpha = 0.001, or when it ever produces an outcome of probability
 * 0. Sample i uses seed i — deterministic, and the seeds were never changed to make a test pass. Each
 * test's false-alarm rate is alpha = 0.1%, so about 0.5% for the five decoder tests together. (The model
 * was changed once, from one whose outputs were nearly always the same few, because there the planted
 * bug below went undetected: that model gave the test no power.) When written: p = 0.58 (AR), 0.59
 * (Jacobi), 0.31 (Jacobi running window, top-k/top-p), 0.84 (multi-block), 0.82 (multi-block n-gram); the planted
 * bug: chi-square 566 on 39 df, p ≈ 1e-94.
 *
 * The test must be able to fail: AR sampling itself passes (the harness is right), and a plausible bug —
 * sampled anchors but drafts committed by the GREEDY rule (a draft equal to the argmax is kept) — fails.
 * Also the pieces: the shaped distribution (temperature, top-k, top-p) and the acceptance rule.
 */
import { describe, expect, it } from "vitest";
import { acceptedPrefixLength } from "../src/decoding/acceptance.ts";
import { jacobi } from "../src/decoding/jacobi.ts";
import { multiBlock } from "../src/decoding/multiblock.ts";
import {
  arSample, resolveSampling, samplingDistribution, sampleToken, verifySampled, type ResolvedSampling, type SamplingOptions,
} from "../src/decoding/sampling.ts";
import { KVCache } from "../src/model/cache.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";
import { forward } from "../src/model/transformer.ts";
import { argmax } from "../src/tensor/ops.ts";
import { Rng } from "../src/tensor/random.ts";
import { Tensor } from "../src/tensor/tensor.ts";
import { chiSquarePValue, chiSquareTest } from "./helpers/stats.ts";

// ---------------------------------------------------------------- the tiny problem and its exact distribution

const config = { ...PRESETS.tiny, vocabSize: 3, maxPositions: 16 };
// weights chosen for a spread distribution (no token above 0.8 after the prompt): a peaked one would
// leave few outcomes and little power; EOS is the least likely token, so most outputs run 5 tokens
const params = initParams(config, { seed: 5, std: 0.2 });
const prompt = [0, 1, 2, 1];
const LENGTH = 5;
const EOS = 1;
const SAMPLES = 3000;
const ALPHA = 0.001;
const stop = { maxNewTokens: LENGTH, eosTokenId: EOS };

/** Every output of AR sampling with its exact probability, by enumeration. */
function exactDistribution(sampling: ResolvedSampling): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (prefix: number[], probability: number): void => {
    if (prefix.length === LENGTH || prefix.at(-1) === EOS) {
      out.set(prefix.join(","), probability);
      return;
    }
    const text = [...prompt, ...prefix];
    const p = samplingDistribution(forward(config, params, text), text.length - 1, sampling);
    p.forEach((q, token) => walk([...prefix, token], probability * q));
  };
  walk([], 1);
  return out;
}

/** Draws SAMPLES outputs (sample i with seed i) and tests them against the exact distribution. */
function fitsArSampling(decode: (seed: number) => number[], options: SamplingOptions): ReturnType<typeof chiSquareTest> {
  const counts = new Map<string, number>();
  for (let seed = 0; seed < SAMPLES; seed++) {
    const key = decode(seed).join(",");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return chiSquareTest(counts, exactDistribution(resolveSampling(options, "spec")!), SAMPLES);
}

function expectFit(label: string, result: ReturnType<typeof chiSquareTest>): void {
  expect(result.impossible, `${label}: outputs of probability 0`).toEqual([]);
  expect(result.pValue, `${label}: chi-square ${result.statistic.toFixed(1)} on ${result.df} df`).toBeGreaterThanOrEqual(ALPHA);
}

// ---------------------------------------------------------------- the statistical test

describe("sampling decoders draw from exactly AR sampling's distribution (chi-square, alpha = 0.001, N = 3000)", () => {
  const plain = { temperature: 1 };
  const shaped = { temperature: 0.8, topK: 2, topP: 0.9 };

  it("the statistics helper: chi-square tail probabilities match the table", () => {
    expect(chiSquarePValue(3.841, 1)).toBeCloseTo(0.05, 4);
    expect(chiSquarePValue(18.307, 10)).toBeCloseTo(0.05, 4);
    expect(chiSquarePValue(29.588, 10)).toBeCloseTo(0.001, 5);
  });

  it("AR sampling itself (the harness is right)", () => {
    expectFit("arSample", fitsArSampling((seed) => arSample(config, params, prompt, { ...stop, ...plain, seed }).tokens, plain));
  });

  it("Jacobi, block mode, n = 3, context drafts", () => {
    expectFit("jacobi", fitsArSampling((seed) => jacobi(config, params, prompt, { ...stop, ...plain, seed, blockSize: 3 }).tokens, plain));
  });

  it("Jacobi, running-window mode, n = 2, with top-k 2 and top-p 0.9 at temperature 0.8", () => {
    expectFit("jacobi running window", fitsArSampling((seed) => jacobi(config, params, prompt, { ...stop, ...shaped, seed, blockSize: 2, mode: "window" }).tokens, shaped));
  });

  it("multi-block, n = 3, K = 2, r = 0.3, recycling pool 4: candidates and promoted blocks included", () => {
    let recycled = 0;
    let promoted = 0;
    const result = fitsArSampling((seed) => {
      const r = multiBlock(config, params, prompt, { ...stop, ...plain, seed, blockSize: 3, maxBlocks: 2, spawnRatio: 0.3, poolSize: 4 });
      recycled += r.stats.acceptedFrom.recycled;
      promoted += r.stats.acceptedFrom.promoted;
      return r.tokens;
    }, plain);
    expectFit("multiBlock", result);
    expect(recycled, "no recycled candidate was ever accepted: that path went untested").toBeGreaterThan(0);
    expect(promoted, "no promoted block's draft was ever accepted: that path went untested").toBeGreaterThan(0);
  });

  it("multi-block, n = 3, K = 3, n-gram pool 8, top-k 2 and top-p 0.9 at temperature 0.8", () => {
    expectFit("multiBlock ngram", fitsArSampling((seed) => multiBlock(config, params, prompt, {
      ...stop, ...shaped, seed, blockSize: 3, maxBlocks: 3, spawnRatio: 0.3, poolSize: 8, poolKind: "ngram", init: "vocab",
    }).tokens, shaped));
  });

  it("the test catches a planted bug: sampled anchors, but drafts committed by the greedy rule", () => {
    const sampling = resolveSampling(plain, "spec")!;
    const buggy = (seed: number): number[] => {
      const rng = new Rng(seed);
      const cache = new KVCache(config);
      const prefill = forward(config, params, prompt, { cache });
      const out: number[] = [];
      let draft = [sampleToken(samplingDistribution(prefill, prompt.length - 1, sampling), rng)];
      for (;;) {
        while (draft.length < Math.min(3, LENGTH - out.length)) draft.push(prompt[rng.int(prompt.length)]);
        const before = cache.length;
        const logits = forward(config, params, draft, { cache });
        const accepted = acceptedPrefixLength(draft, Array.from(argmax(logits)), EOS);   // the bug: greedy verification
        cache.truncate(before + accepted);
        out.push(...draft.slice(0, accepted));
        if (out.length === LENGTH || out.at(-1) === EOS) return out;
        draft = [sampleToken(samplingDistribution(logits, accepted - 1, sampling), rng)];
      }
    };
    const result = fitsArSampling(buggy, plain);
    expect(result.pValue, `chi-square ${result.statistic.toFixed(1)} on ${result.df} df`).toBeLessThan(ALPHA);
  });
});

// ---------------------------------------------------------------- the pieces

describe("the sampling distribution", () => {
  const logits = Tensor.from([2, 1, 1, 0, Math.log(3)], [1, 5]);
  const tied = Tensor.from([2, 1, 1, 0], [1, 4]);

  it("is softmax(logits / temperature)", () => {
    const p = samplingDistribution(logits, 0, { temperature: 2, topK: null, topP: 1 });
    const e = [1, 0.5, 0.5, 0, Math.log(3) / 2].map(Math.exp);
    const z = e.reduce((a, b) => a + b);
    e.forEach((v, i) => expect(p[i]).toBeCloseTo(v / z, 15));
  });

  it("top-k keeps the k most probable and every token tied with the k-th, as transformers' TopK does", () => {
    const p = samplingDistribution(tied, 0, { temperature: 1, topK: 2, topP: 1 });
    expect(Array.from(p, (v) => v > 0)).toEqual([true, true, true, false]);            // 2, then both of the tie 1 = 1
    expect(p[0]).toBeCloseTo(Math.E / (Math.E + 2), 15);
    expect(Array.from(samplingDistribution(tied, 0, { temperature: 1, topK: 1, topP: 1 }), (v) => v > 0)).toEqual([true, false, false, false]);
  });

  it("top-p keeps the smallest most-probable set reaching p", () => {
    const e = [2, 1, 1, 0, Math.log(3)].map(Math.exp);
    const z = e.reduce((a, b) => a + b);
    const first = e[0] / z;                                                          // about 0.43
    const kept = (topP: number) => Array.from(samplingDistribution(logits, 0, { temperature: 1, topK: null, topP }), (v) => v > 0);
    expect(kept(first - 1e-9)).toEqual([true, false, false, false, false]);
    expect(kept(first + 1e-9)).toEqual([true, false, false, false, true]);             // log 3 > 1: id 4 is second
  });

  it("top-p takes its mass on the distribution renormalised after top-k (transformers' order)", () => {
    // top-k 2 keeps ids 0 and 4, renormalised to about 0.71 and 0.29: top-p 0.6 is reached by id 0 alone
    // (taken before the renormalisation, its mass would be about 0.44 and id 4 would stay)
    const p = samplingDistribution(logits, 0, { temperature: 1, topK: 2, topP: 0.6 });
    expect(Array.from(p)).toEqual([1, 0, 0, 0, 0]);
    const both = samplingDistribution(logits, 0, { temperature: 1, topK: 2, topP: 0.75 });
    expect(both[0]).toBeCloseTo(Math.exp(2) / (Math.exp(2) + 3), 15);
    expect(both[4]).toBeCloseTo(3 / (Math.exp(2) + 3), 15);
  });

  it("rejects bad options, naming them", () => {
    expect(() => resolveSampling({ temperature: 1, topP: 0 }, "jacobi")).toThrow("jacobi: topP must be in (0, 1], got 0");
    expect(() => resolveSampling({ temperature: 1, topK: 0 }, "jacobi")).toThrow("jacobi: topK must be a positive integer, got 0");
    expect(resolveSampling({ temperature: 0 }, "jacobi")).toBeNull();
  });
});

describe("the acceptance rule", () => {
  const onehot = (token: number) => (_row: number, _index: number) => Float64Array.from({ length: 4 }, (_, v) => (v === token ? 1 : 0));

  it("a draft of probability 1 is always accepted, one of probability 0 never", () => {
    for (let seed = 0; seed < 20; seed++) {
      expect(verifySampled([[3, 2, 2]], onehot(2), null, new Rng(seed))).toEqual({ row: 0, accepted: 3, next: 2 });
      const rejected = verifySampled([[3, 1, 1]], onehot(2), null, new Rng(seed));
      expect([rejected.accepted, rejected.next]).toEqual([1, 2]);
    }
  });

  it("stops after an accepted EOS", () => {
    expect(verifySampled([[3, 2, 2]], onehot(2), 2, new Rng(0)).accepted).toBe(2);
  });

  it("with several rows, commits the tokens of a row that proposes them (the first such)", () => {
    const result = verifySampled([[3, 1, 0], [3, 2, 0], [3, 2, 2]], onehot(2), null, new Rng(0));
    expect([result.row, result.accepted, result.next]).toEqual([2, 3, 2]);
  });

  it("a token proposed by no row still comes out with its probability: the residual after every proposal", () => {
    // p = [0.5, 0.25, 0.25, 0]; rows propose 0 and 1 after the seed; token 2 must come out 25% of the time
    const p = () => Float64Array.from([0.5, 0.25, 0.25, 0]);
    const counts = [0, 0, 0, 0];
    const N = 4000;
    for (let seed = 0; seed < N; seed++) {
      const r = verifySampled([[3, 0], [3, 1]], p, null, new Rng(seed));
      counts[r.accepted === 2 ? [0, 1][r.row] : r.next]++;
    }
    const statistic = counts.slice(0, 3).reduce((s, c, i) => s + (c - N * [0.5, 0.25, 0.25][i]) ** 2 / (N * [0.5, 0.25, 0.25][i]), 0);
    expect(counts[3]).toBe(0);
    expect(chiSquarePValue(statistic, 2)).toBeGreaterThanOrEqual(ALPHA);
  });
});
