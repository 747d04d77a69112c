/**
 * `distill` end to end through the CLI on a tiny model: collect → distill writes a loadable student,
 * loss.csv with the AR, consistency (and replay) losses apart, and loss.svg; `--resume` of a finished
 * run changes nothing; bad flags give one-line errors naming the flag; trajectories of another teacher
 * are refused, and a file that does not record its teacher is used with a warning.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli.ts";
import { mathDataset } from "../src/data/dataset.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/node/checkpoint-folder.ts";
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
    expect(loadCheckpoint(out).tokenizer?.files()).toEqual(mathDataset().tokenizer.files());
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
      [["--workers", "500"], new RegExp(`--workers must be at most ${availableParallelism()} \\(the cores of this machine\\), got 500`)],
      [["--lr", "-1"], /distill: --lr must be positive, got -1/],
      [["--ar-weight", "-0.5"], /distill: --ar-weight must be at least 0, got -0.5/],
      [["--replay-length", "0"], /distill: --replay-length must be positive, got 0/],
      [["--trajectories", root], /distill: --trajectories .* is a folder, not a JSONL file of trajectories/],
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

  it("refuses trajectories of another teacher, naming both; warns on a file that does not record its teacher", async () => {
    const other = join(root, "other-teacher");
    const config = { ...PRESETS.tiny, vocabSize: mathDataset().tokenizer.vocabSize };
    saveCheckpoint(other, { config, params: initParams(config, { seed: 5, std: 0.5 }), tokenizer: mathDataset().tokenizer });
    const out = join(root, "wrong-teacher");
    const args = common().map((a) => (a === teacher ? other : a));
    const r = await cli("distill", ...args, "--steps", "1", "--out", out);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^jacobi-forcing: distill: ${trajectories} was collected with the teacher teacher \\(sha256 [0-9a-f]{12}\\), not with --teacher ${other} \\(other-teacher, sha256 [0-9a-f]{12}\\); collect trajectories with this teacher\n$`));
    expect(existsSync(out)).toBe(false);

    const old = join(root, "old.jsonl");
    writeFileSync(old, readFileSync(trajectories, "utf8").split("\n").slice(1).join("\n")); // without the header line
    const args2 = common().map((a) => (a === trajectories ? old : a));
    const w = await cli("distill", ...args2, "--steps", "1", "--out", join(root, "old-file"));
    expect(w.code, w.err).toBe(0);
    expect(w.err).toContain(`distill: warning: ${old} does not record its teacher (an older collect wrote it); it must have been collected with ${teacher}\n`);
  });

  it("never writes into the teacher's folder, and refuses a folder holding a run without --resume or --overwrite", async () => {
    const before = readdirSync(teacher).sort();
    const r = await cli("distill", ...common(), "--steps", "1", "--out", teacher, "--overwrite");
    expect(r.code).toBe(2);
    expect(r.err).toBe(`jacobi-forcing: distill: --out and --teacher are the same folder (${teacher}); write the new run elsewhere\n`);
    expect(readdirSync(teacher).sort()).toEqual(before);
    const earlier = join(root, "earlier");
    mkdirSync(earlier);
    writeFileSync(join(earlier, "loss.csv"), "step,lr,loss,grad_norm\n1,0.001,2.5,0.8\n");
    const held = await cli("distill", ...common(), "--steps", "1", "--out", earlier);
    expect(held.code).toBe(2);
    expect(held.err).toBe(`jacobi-forcing: distill: ${earlier} already holds a run (loss.csv); continue it with --resume, or replace it with --overwrite\n`);
    expect(readdirSync(earlier)).toEqual(["loss.csv"]);
  });
});
