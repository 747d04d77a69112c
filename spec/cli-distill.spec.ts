/**
 * `distill` end to end through the CLI on a tiny model: collect → distill writes a loadable student,
 * loss.csv with the AR, consistency (and replay) losses apart, and loss.svg; `--resume` of a finished
 * run changes nothing; bad flags give one-line errors naming the flag.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.ts";
import { mathDataset } from "../src/data/dataset.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/model/checkpoint.ts";
import { PRESETS } from "../src/model/config.ts";
import { initParams } from "../src/model/params.ts";

const root = mkdtempSync(join(tmpdir(), "jf-cli-distill-"));
const teacher = join(root, "teacher");
const trajectories = join(root, "traj.jsonl");
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("jacobi-forcing distill", () => {
  beforeAll(async () => {
    const config = { ...PRESETS.tiny, vocabSize: mathDataset().tokenizer.vocabSize };
    saveCheckpoint(teacher, { config, params: initParams(config, { seed: 4, std: 0.5 }), tokenizer: mathDataset().tokenizer });
    const c = await cli("collect", "--model", teacher, "--data", "math", "--prompts", "6", "--block-size", "4", "--max-new-tokens", "12", "--out", trajectories);
    expect(c.code, c.err).toBe(0);
  });

  const common = () => ["--teacher", teacher, "--trajectories", trajectories, "--block-size", "4", "--window", "3", "--batch", "2", "--checkpoint-every", "2", "--eval-every", "2"];

  it("writes a student, its loss table (AR, consistency and replay apart) and plot; --resume of a finished run is a no-op", async () => {
    const out = join(root, "student");
    const r = await cli("distill", ...common(), "--steps", "3", "--window-phase", "random", "--replay-data", "math", "--replay-weight", "1", "--replay-length", "64", "--workers", "2", "--out", out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/distill: done, 3 steps/);
    const csv = readFileSync(join(out, "loss.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("step,lr,loss,grad_norm,ar_loss,consistency_loss,replay_loss");
    expect(csv).toHaveLength(4);
    for (const line of csv.slice(1)) for (const v of line.split(",").slice(0, 7)) expect(Number.isFinite(Number(v))).toBe(true);
    expect(readFileSync(join(out, "loss.svg"), "utf8")).toMatch(/^<svg/);
    expect(loadCheckpoint(out).tokenizer?.chars).toEqual(mathDataset().tokenizer.chars);
    const model = readFileSync(join(out, "model.safetensors"));
    const again = await cli("distill", ...common(), "--steps", "3", "--window-phase", "random", "--replay-data", "math", "--replay-weight", "1", "--replay-length", "64", "--out", out, "--resume");
    expect(again.code, again.err).toBe(0);
    expect(readFileSync(join(out, "model.safetensors"))).toEqual(model);
  });

  it("refuses bad flags with one line naming what was wrong, and writes nothing", async () => {
    const cases: [string[], RegExp][] = [
      [["--block-size", "8"], /--block-size 8 but the trajectories were collected with block size 4/],
      [["--replay-weight", "2"], /--replay-weight needs --replay-data/],
      [["--workers", "0"], /--workers must be positive, got 0/],
      [["--window-phase", "late"], /window-phase/],
    ];
    for (const [extra, message] of cases) {
      const out = join(root, `bad-${extra[0].slice(2)}`);
      const args = [...common(), "--steps", "2", "--out", out];
      for (let i = 0; i < extra.length; i += 2) {
        const at = args.indexOf(extra[i]);
        if (at >= 0) args.splice(at, 2);
      }
      const r = await cli("distill", ...args, ...extra);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(existsSync(join(out, "model.safetensors"))).toBe(false);
    }
  });
});
