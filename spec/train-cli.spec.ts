/**
 * The `train` and `eval` commands end to end, in-process on the tiny preset: a short run writes a
 * loadable model, loss.csv and loss.svg; `--resume` continues it to the same losses as one run; eval
 * prints the documented JSON; bad data and mismatched models give one-line errors.
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.ts";

const root = mkdtempSync(join(tmpdir(), "jf-train-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const losses = (dir: string): string[] => readFileSync(join(dir, "loss.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(",")[2]);

describe("train and eval commands", () => {
  const common = ["--data", "math", "--preset", "tiny", "--context", "64", "--batch", "1", "--eval-every", "2", "--checkpoint-every", "2", "--seed", "5"];

  it("train writes a model, a loss table and a plot; eval --json reports accuracy", async () => {
    const dir = join(root, "math");
    const t = await cli("train", ...common, "--steps", "4", "--out", dir);
    expect(t.code, t.err).toBe(0);
    expect(t.err).toMatch(/step 4\/4 {2}loss \d\.\d{4} {2}\d+ tok\/s/);
    expect(t.err).toMatch(/eval at step 4: heldoutLoss \d\.\d{4} {2}accuracy 0/);
    expect(losses(dir).length).toBe(4);
    expect(readFileSync(join(dir, "loss.svg"), "utf8")).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    const e = await cli("eval", "--model", dir, "--data", "math", "--examples", "3", "--json");
    expect(e.code, e.err).toBe(0);
    const report = JSON.parse(e.out);
    expect(Object.keys(report)).toEqual(["accuracy", "bitsPerChar", "unigramBitsPerChar", "tokensPerForward", "iterationsPerToken", "tokensPerSecond", "examples"]);
    expect(report.examples).toBe(3);
    expect(report.tokensPerForward).toBe(1);
    expect(report.bitsPerChar).toBeNull();
  });

  it("--resume: a finished run resumed with its own flags is unchanged; other flags are refused", async () => {
    const once = join(root, "once");
    const twice = join(root, "twice");
    expect((await cli("train", ...common, "--steps", "4", "--out", once)).code).toBe(0);
    expect((await cli("train", ...common, "--steps", "4", "--out", twice)).code).toBe(0);
    expect(losses(twice)).toEqual(losses(once)); // deterministic per seed
    const again = await cli("train", ...common, "--steps", "4", "--out", twice, "--resume");
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/done, 4 steps/);
    expect(losses(twice)).toEqual(losses(once));
    const refused = await cli("train", ...common, "--steps", "6", "--out", twice, "--resume");
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/\njacobi-forcing: resume: the options differ from the saved run's: steps 4 \(saved\) vs 6 \(given\)\n$/);
  });

  it("bad data and mismatched models: one line, non-zero exit", async () => {
    const empty = join(root, "empty.txt");
    writeFileSync(empty, "");
    const r = await cli("train", "--data", empty, "--preset", "tiny", "--steps", "1", "--out", join(root, "x"));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`jacobi-forcing: ${empty}: the file is empty; training needs some text\n`);
    const m = await cli("eval", "--model", join(root, "math"), "--data", "code");
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/vocabulary \(20 ids\) is not the code dataset's/);
  });
});
