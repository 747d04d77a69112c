/**
 * A training run's folder: one run at a time (a lock, stale locks taken over), no silent overwrite
 * (`--overwrite` or `--resume`), honest stops (SIGINT exits 130 after saving, SIGTERM 143), and a resume
 * after a save that a crash cut short: the files of the step that never committed are rewritten from the
 * last checkpoint, the temporary files of the write are removed, and the run says which step it resumes
 * from and ends byte-identical to a run never interrupted. No assertion here is about time: the runs are
 * stopped by what they print, not by a clock.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.ts";
import { cli } from "./helpers/cli.ts";

const root = mkdtempSync(join(tmpdir(), "jf-run-folder-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const common = ["--data", "math", "--preset", "tiny", "--context", "64", "--batch", "1", "--eval-every", "2", "--checkpoint-every", "2", "--seed", "3"];
const files = (dir: string): string[] => readdirSync(dir).sort();

/** The id of a process that has ended: nothing runs under it now. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", ""]).pid!;

/** A lock file as a run writes it. */
const lockOf = (pid: number): string => JSON.stringify({ pid, host: hostname(), started: "2025-01-01T00:00:00.000Z", command: "train" }) + "\n";

describe("one run per folder, and no silent overwrite", () => {
  it("a folder holding a run is refused without --resume, unchanged; --overwrite replaces the run", async () => {
    const dir = join(root, "overwrite");
    expect((await cli("train", ...common, "--steps", "2", "--out", dir)).code).toBe(0);
    const before = Object.fromEntries(files(dir).map((f) => [f, readFileSync(join(dir, f))]));
    expect(Object.keys(before)).toEqual(["config.json", "loss.csv", "loss.svg", "model.safetensors", "resume.safetensors", "tokenizer.json", "tokenizer_config.json"]);

    const refused = await cli("train", ...common, "--steps", "1", "--out", dir);
    expect(refused.code).toBe(2);
    expect(refused.err).toBe(`jacobi-forcing: train: ${dir} already holds a run (model.safetensors, config.json, tokenizer.json, tokenizer_config.json, loss.csv, loss.svg, resume.safetensors); continue it with --resume, or replace it with --overwrite\n`);
    for (const [f, bytes] of Object.entries(before)) expect(readFileSync(join(dir, f)), f).toEqual(bytes);
    expect(files(dir)).toEqual(Object.keys(before));

    const replaced = await cli("train", ...common, "--steps", "1", "--out", dir, "--overwrite");
    expect(replaced.code, replaced.err).toBe(0);
    expect(replaced.err).toContain(`train: --overwrite: removed the run in ${dir}`);
    expect(readFileSync(join(dir, "loss.csv"), "utf8").trim().split("\n")).toHaveLength(2); // header + the one new step

    const both = await cli("train", ...common, "--steps", "1", "--out", dir, "--overwrite", "--resume");
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--resume continues the run in .*, --overwrite replaces it: give one of them\n$/);
    const nothing = await cli("train", ...common, "--steps", "1", "--out", join(root, "empty"), "--resume");
    expect(nothing.err).toMatch(/empty holds no run to resume \(no resume\.safetensors\)/);
    expect(existsSync(join(root, "empty"))).toBe(false);
  });

  it("a lock of a live process refuses the run in one line naming the folder and the pid; a stale lock is named and taken over", async () => {
    const dir = join(root, "locked");
    mkdirSync(dir);
    writeFileSync(join(dir, "run.lock"), lockOf(process.pid)); // this process runs: the folder is held
    const refused = await cli("train", ...common, "--steps", "1", "--out", dir);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(`jacobi-forcing: train: ${dir} is in use by another run: train, pid ${process.pid} on ${hostname()}, started 2025-01-01T00:00:00.000Z\n`);
    expect(files(dir)).toEqual(["run.lock"]);

    const gone = deadPid();
    writeFileSync(join(dir, "run.lock"), lockOf(gone));
    const taken = await cli("train", ...common, "--steps", "1", "--out", dir);
    expect(taken.code, taken.err).toBe(0);
    expect(taken.err).toContain(`train: took over the lock of ${dir} from a run that ended without releasing it (train, pid ${gone}, started 2025-01-01T00:00:00.000Z)\n`);
    expect(files(dir)).not.toContain("run.lock"); // released at the end
  });

  it("a second run is refused while a first one (another process) trains; SIGINT stops the first after a checkpoint, exit 130, lock removed", async () => {
    const dir = join(root, "live");
    const bin = join(import.meta.dirname, "..", "bin", "jacobi-forcing.js");
    const long = ["--data", "math", "--preset", "tiny", "--context", "64", "--batch", "1", "--eval-every", "1000", "--checkpoint-every", "1000", "--steps", "1000000"];
    const child = spawn(process.execPath, [bin, "train", ...long, "--out", dir]);
    let err = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // wait until it is in its training loop: a progress line
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (chunk: Buffer) => {
        err += chunk.toString();
        if (/step \d+\/1000000/.test(err)) resolve();
      });
      child.on("exit", () => reject(new Error(`the first run ended early:\n${err}`)));
    });
    const second = await cli("train", ...common, "--steps", "1", "--out", dir);
    expect(second.code).toBe(1);
    expect(second.err).toMatch(new RegExp(`^jacobi-forcing: train: ${dir} is in use by another run: train, pid ${child.pid} on .*\\n$`));

    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(err).toMatch(/train: SIGINT: saving a checkpoint, then exiting with code 130/);
    const stoppedAt = Number(/train: stopped at step (\d+) after/.exec(err)?.[1]);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(files(dir)).toEqual(["config.json", "loss.csv", "loss.svg", "model.safetensors", "resume.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    expect(readFileSync(join(dir, "loss.csv"), "utf8").trim().split("\n")).toHaveLength(stoppedAt + 1);
  });
});

describe("stops and resumes", () => {
  it("SIGTERM saves, exits 143; a resume after a save cut short rewrites the uncommitted files, says its step, and ends byte-identical", async () => {
    const straight = join(root, "straight");
    expect((await cli("train", ...common, "--steps", "4", "--out", straight)).code).toBe(0);

    // SIGTERM once step 2 is evaluated: the loop saves step 2 and stops.
    const dir = join(root, "crashed");
    let err = "";
    const code = await main(["train", ...common, "--steps", "4", "--out", dir], {
      out: () => {},
      err: (t) => {
        err += t;
        if (t.startsWith("eval at step 2:")) process.emit("SIGTERM");
      },
      isTTY: false,
    });
    expect(code, err).toBe(143);
    expect(err).toMatch(/train: SIGTERM: saving a checkpoint, then exiting with code 143\n/);
    expect(err).toMatch(/train: stopped at step 2 after/);
    expect(files(dir)).not.toContain("run.lock");

    // A crash while saving step 4: the model of step 4 is in place, the rest of the step is not, and a
    // temporary file of the write is left behind (its process, a dead one, named in its name).
    copyFileSync(join(straight, "model.safetensors"), join(dir, "model.safetensors"));
    const leftover = `loss.csv.tmp-${deadPid()}-0123456789ab`;
    writeFileSync(join(dir, leftover), "step,lr,loss");

    const resumed = await cli("train", ...common, "--steps", "4", "--out", dir, "--resume");
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain(`train: removed ${leftover} from ${dir}: left by a write that was interrupted\n`);
    expect(resumed.err).toContain(`train: model.safetensors in ${dir} is not the step-2 checkpoint's (a save was interrupted); rewritten from it\n`);
    expect(resumed.err).toContain("train: resuming from step 2 of 4\n");
    expect(files(dir)).toEqual(files(straight));
    for (const f of files(straight)) expect(readFileSync(join(dir, f)), f).toEqual(readFileSync(join(straight, f)));

    // The same on a finished run, where no later save would hide the damage: a torn plot and a stale
    // loss table are rewritten from the step-4 checkpoint, byte for byte.
    writeFileSync(join(dir, "loss.svg"), "<svg");
    writeFileSync(join(dir, "loss.csv"), "step,lr,loss,grad_norm\n");
    const again = await cli("train", ...common, "--steps", "4", "--out", dir, "--resume");
    expect(again.code, again.err).toBe(0);
    expect(again.err).toContain(`train: loss.csv, loss.svg in ${dir} are not the step-4 checkpoint's (a save was interrupted); rewritten from it\n`);
    for (const f of files(straight)) expect(readFileSync(join(dir, f)), f).toEqual(readFileSync(join(straight, f)));
  });
});
