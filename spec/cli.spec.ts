import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.ts";
import { COMMANDS } from "../src/cli/main.ts";
import { arGreedyReference } from "../src/decoding/greedy.ts";
import { loadCheckpoint } from "../src/node/checkpoint-folder.ts";
import { CharTokenizer } from "../src/model/tokenizer.ts";
import { decodeSafetensors } from "../src/model/safetensors.ts";
import { forward } from "../src/model/transformer.ts";
import { referenceLogits, type HfConfig } from "./reference/llama-reference.ts";

const root = mkdtempSync(join(tmpdir(), "jf-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("jacobi-forcing CLI", () => {
  const model = join(root, "tiny");

  it("--version and -h on the top level and after every command; help columns never run together", async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8"));
    const usage = await cli("--help");
    expect([(await cli("-h")).out, (await cli("-h")).code]).toEqual([usage.out, 0]);
    expect(await cli("--version")).toEqual({ code: 0, out: `${version}\n`, err: "" });
    for (const name of Object.keys(COMMANDS)) {
      expect(usage.out).toContain(`  ${name} `);
      expect(await cli(name, "--version")).toEqual({ code: 0, out: `${version}\n`, err: "" });
      const help = await cli(name, "-h");
      expect([help.code, help.out]).toEqual([0, (await cli(name, "--help")).out]);
      // every flag line: the flag, its values, at least two spaces, the help; or the help alone on the next line
      for (const line of help.out.split("\n").filter((l) => l.startsWith("  --"))) expect(line, `${name}: ${line}`).toMatch(/^  --\S+( \S+)? {2,}\S|^  --\S+( \S+)?$/);
    }
    expect((await cli("generate", "-h")).out).toMatch(/\n {2}--init context\|vocab\|repeat-last\|pad\n {34}jacobi, mr: how draft tokens/);
  });

  it("init writes a checkpoint that generate and logits read", async () => {
    expect((await cli("init", "--preset", "tiny", "--seed", "3", "--std", "0.5", "--out", model)).code).toBe(0);
    const g = await cli("generate", "--model", model, "--prompt-ids", "1,40,41", "--max-new-tokens", "7", "--json");
    expect(g.code).toBe(0);
    const json = JSON.parse(g.out);
    const { config, params, tokenizer } = loadCheckpoint(model);
    expect(json.tokens).toEqual(arGreedyReference(config, params, [1, 40, 41], { maxNewTokens: 7 }).tokens);
    expect(json.text).toBe(tokenizer!.decode(json.tokens));
    expect(json.stats.forwards).toBe(json.tokens.length);
    expect(json.stats.tokensPerForward).toBe(1);

    const l = await cli("logits", "--model", model, "--prompt-ids", "1,40", "--json");
    const logits = JSON.parse(l.out) as number[][];
    expect(logits.length).toBe(2);
    expect(logits.flat()).toEqual(Array.from(forward(config, params, [1, 40]).data));
  });

  it("a text prompt is BOS + characters", async () => {
    const a = JSON.parse((await cli("generate", "--model", model, "--prompt", "hi", "--max-new-tokens", "3", "--json")).out);
    const b = JSON.parse((await cli("generate", "--model", model, "--prompt-ids", "1,77,78", "--max-new-tokens", "3", "--json")).out);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.promptTokens).toEqual([1, 77, 78]);
    expect(b.promptTokens).toEqual([1, 77, 78]);
  });

  it("--chat renders the prompt as one user message in the folder's chat template, special tokens as variables", async () => {
    const refused = await cli("generate", "--model", model, "--prompt", "hi", "--chat", "--max-new-tokens", "1");
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(`jacobi-forcing: ${model}: the tokenizer has no chat template (chat_template.jinja, or chat_template in tokenizer_config.json)\n`);
    const chat = join(root, "chat");
    cpSync(model, chat, { recursive: true });
    writeFileSync(join(chat, "chat_template.jinja"), "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}");
    const g = JSON.parse((await cli("generate", "--model", chat, "--prompt", "hi", "--chat", "--max-new-tokens", "3", "--json")).out);
    expect(g.promptTokens).toEqual([1, ...CharTokenizer.ascii().encode("[user] hi\n[assistant] ")]);
    expect((await cli("generate", "--model", chat, "--prompt-ids", "1", "--chat")).err).toMatch(/generate: --chat wraps the --prompt text in the chat template; it needs --prompt/);
  });

  const bad: [string, string[], number, RegExp][] = [
    ["unknown command", ["frobnicate"], 2, /unknown command "frobnicate"/],
    ["unknown flag", ["generate", "--model", "x", "--prompt", "a", "--bogus"], 2, /unknown flag --bogus/],
    ["missing required flag", ["init", "--preset", "tiny"], 2, /--out is required/],
    ["bad number", ["generate", "--model", "x", "--prompt", "a", "--max-new-tokens", "many"], 2, /--max-new-tokens must be a number/],
    ["bad choice", ["init", "--preset", "huge", "--out", "x"], 2, /--preset must be one of tiny, small/],
    ["missing model", ["generate", "--model", "/nonexistent/model", "--prompt", "a"], 1, /is not a checkpoint folder/],
    ["both prompts", ["generate", "--model", "x", "--prompt", "a", "--prompt-ids", "1"], 2, /exactly one of --prompt/],
    ["no examples", ["eval", "--model", "x", "--data", "math", "--examples", "0"], 2, /^jacobi-forcing: eval: --examples must be positive, got 0\n$/],
    ["negative examples", ["eval", "--model", "x", "--data", "math", "--examples", "-4"], 2, /eval: --examples must be positive, got -4/],
    ["more examples than held-out problems", ["eval", "--model", "x", "--data", "math", "--examples", "200000"], 2,
      /eval: --examples must be at most 100000 \(math draws distinct problems from 151,325 held-out ones\), got 200000/],
    ["negative learning rate", ["train", "--data", "math", "--steps", "1", "--out", "x", "--lr", "-1"], 2, /train: --lr must be positive, got -1/],
    ["zero context", ["train", "--data", "math", "--steps", "1", "--out", "x", "--context", "0"], 2, /train: --context must be positive, got 0/],
    ["negative std", ["init", "--std", "-1", "--out", "x"], 2, /init: --std must be positive, got -1/],
    ["no tokens to generate", ["generate", "--model", "x", "--prompt", "a", "--max-new-tokens", "0"], 2, /generate: --max-new-tokens must be positive, got 0/],
    ["data that is a folder", ["train", "--data", tmpdir(), "--steps", "1", "--out", "x"], 2,
      new RegExp(`^jacobi-forcing: ${tmpdir()} is a folder, not a text file \\(expected math, code or the path of a UTF-8 text file\\)\n$`)],
    ["data that does not exist", ["train", "--data", "/nonexistent/notes.txt", "--steps", "1", "--out", "x"], 2, /^jacobi-forcing: \/nonexistent\/notes\.txt: no such file/],
  ];
  for (const [label, argv, code, message] of bad) {
    it(`${label}: one line on stderr, exit ${code}`, async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(code);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it("model-dependent bad input: token id out of range, character outside the vocabulary, prompt past the context", async () => {
    expect((await cli("generate", "--model", model, "--prompt-ids", "1,100")).err).toMatch(/prompt token 100 at index 1 is outside the vocabulary 0..99/);
    expect((await cli("generate", "--model", model, "--prompt", "é")).err).toMatch(/character "é" \(U\+00E9\)/);
    const long = Array(129).fill(5).join(",");
    expect((await cli("generate", "--model", model, "--prompt-ids", long)).err).toMatch(/129 tokens, more than the context length 128/);
    expect((await cli("logits", "--model", model, "--prompt-ids", "1,x")).err).toMatch(/--prompt-ids entry 1 must be a non-negative integer/);
  });

  it("output paths: a folder where a file is written, a file where a folder is: one line naming the path, no temporary file named", async () => {
    const svg = await cli("trace", "--model", model, "--prompt-ids", "1,40", "--max-new-tokens", "2", "--svg", root);
    expect(svg.code).toBe(1);
    expect(svg.err).toBe(`jacobi-forcing: cannot write ${root}: it is a folder (EISDIR)\n`);
    const file = join(model, "config.json");
    for (const argv of [["init", "--out", file], ["train", "--data", "math", "--preset", "tiny", "--steps", "1", "--out", file]]) {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`jacobi-forcing: ${argv[0]}: --out ${file} is a file; it must be a folder\n`);
    }
  });
});

describe("checkpoints written by `init` agree with the independent float64 Llama reference", () => {
  for (const preset of ["tiny", "small"]) {
    it(`${preset}: logits within 1e-9 relative`, async () => {
      const dir = join(root, `ref-${preset}`);
      expect((await cli("init", "--preset", preset, "--seed", "11", "--std", "0.3", "--out", dir)).code).toBe(0);
      const { config, params } = loadCheckpoint(dir);
      const tokens = [1, 50, 60, 70, 3, 99, 42];
      const ours = forward(config, params, tokens).data;
      const hf = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as HfConfig;
      const { tensors } = decodeSafetensors(readFileSync(join(dir, "model.safetensors")), "model.safetensors");
      const ref = referenceLogits(hf, tensors, tokens);
      let worst = 0;
      ref.forEach((row, i) => row.forEach((r, j) => {
        worst = Math.max(worst, Math.abs(ours[i * config.vocabSize + j] - r) / Math.max(Math.abs(r), 1e-6));
      }));
      expect(worst).toBeLessThan(1e-9);
    });
  }
});
