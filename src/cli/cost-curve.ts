/**
 * The forward cost curve of `--block-size auto`, measured once per machine, backend and model shape and
 * kept in the user's cache directory, so that the choice of n does not change with the machine's load.
 *
 * `autoBlockSize` (`src/decoding/block-size.ts`) decides from TPF counts, which are deterministic, and
 * from a cost curve t(T)/t(1), which has to be timed. Timed on every run, a busy machine gave a different
 * curve and so a different n from one run to the next. Here the curve is timed the first time a
 * (machine, backend, model shape) is seen and written to
 *
 *     $XDG_CACHE_HOME/jacobi-forcing/cost-curves/<backend>-<shape>-<machine hash>.json
 *
 * (`~/.cache/jacobi-forcing` without XDG_CACHE_HOME; never inside the package), and read back on every
 * later run. The file names what it was measured on; delete it to measure again. A file that cannot be
 * read is measured again and replaced; a cache directory that cannot be written leaves the curve measured
 * for this run only, and the command says so.
 *
 * What it is not: a library function. Environment variables and the home directory belong to the CLI.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { arch, cpus, homedir, hostname } from "node:os";
import { join } from "node:path";
import { AUTO_BLOCK_SIZES, measureCostCurve, type CostCurve, type CostPoint } from "../decoding/block-size.ts";
import type { ModelConfig } from "../model/config.ts";
import type { Params } from "../model/params.ts";
import type { ModelRunner } from "../model/runner.ts";
import { writeFileAtomic } from "../util/atomic-write.ts";

/**
 * Timed forwards per point when a curve is measured: more than a one-off measurement would take, since
 * the curve is measured once and then trusted.
 */
const REPS = 15;

/** What a stored curve was measured on (see {@link costCurveKey}): a curve is reused only for an equal key. */
type CostCurveKey = ReturnType<typeof costCurveKey>;

/**
 * The folder the curves live in: `$XDG_CACHE_HOME/jacobi-forcing/cost-curves`, or
 * `~/.cache/jacobi-forcing/cost-curves` when XDG_CACHE_HOME is unset or not an absolute path.
 *
 * @example
 * ```ts
 * costCurveDir(); // "/tmp/cache/jacobi-forcing/cost-curves" with XDG_CACHE_HOME=/tmp/cache
 * ```
 * @category CLI
 */
export function costCurveDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg.startsWith("/") ? xdg : join(homedir(), ".cache");
  return join(base, "jacobi-forcing", "cost-curves");
}

/**
 * The key of `runner`'s cost curve on this machine for a model of `config`'s shape: the host's name, the
 * CPU model and architecture, the Node version (V8's speed changes with it), the backend, the GPU adapter
 * of a WebGPU runner (else null), the kernel threads of a CPU runner (`--threads`; 1 on WebGPU), and the
 * sizes that set the cost of a forward (the weights' values do not): layers, width, MLP width, heads x KV
 * heads, vocabulary and context, as `L3-C64-F192-H4x2-V20-P256` (`-bias` with q/k/v biases).
 *
 * @example
 * ```ts
 * const { config, params } = loadCheckpoint("models/math-teacher");
 * costCurveKey(config, cpuRunner(config, params), 1).shape; // "L3-C64-F192-H4x2-V20-P256"
 * ```
 * @category CLI
 */
function costCurveKey(config: ModelConfig, runner: ModelRunner, threads: number) {
  const adapter = "adapter" in runner && typeof runner.adapter === "string" ? runner.adapter : null;
  const c = config;
  const shape = `L${c.numLayers}-C${c.hiddenSize}-F${c.intermediateSize}-H${c.numHeads}x${c.numKeyValueHeads}-V${c.vocabSize}-P${c.maxPositions}` +
    (c.headDim === undefined ? "" : `-D${c.headDim}`) + (c.attentionBias ? "-bias" : "") + (c.architecture === "Qwen3ForCausalLM" ? "-qknorm" : "");
  return {
    host: hostname(), cpu: cpus()[0]?.model ?? "unknown", arch: arch(), node: process.version,
    backend: runner.backend, adapter, threads: runner.backend === "cpu" ? threads : 1, shape,
  };
}

/** What a curve file holds. */
interface StoredCurve {
  readonly key: CostCurveKey;
  readonly measured: string;
  readonly points: CostPoint[];
}

/** The curve stored in `file` for `key`, or why it cannot be used. */
function readStored(file: string, key: CostCurveKey): StoredCurve | string {
  let stored: StoredCurve;
  try {
    stored = JSON.parse(readFileSync(file, "utf8")) as StoredCurve;
  } catch (error) {
    return `it is not readable JSON (${(error as Error).message})`;
  }
  if (JSON.stringify(stored?.key) !== JSON.stringify(key)) return "it was measured on another machine, backend or model shape";
  const points = stored.points;
  const valid = Array.isArray(points) && points.length > 0 && points.some((p) => p?.T === 1) &&
    points.every((p) => Number.isInteger(p?.T) && p.T >= 1 && typeof p.ratio === "number" && Number.isFinite(p.ratio) && p.ratio > 0);
  return valid ? stored : "its points are not a cost curve (positive ratios at integer T, T = 1 among them)";
}

/**
 * `runner`'s cost curve for this model's shape on this machine: the stored one when there is one, else
 * measured now (saying so on `say`, as it takes a moment) and stored for next time.
 *
 * @param threads - the kernel threads of a CPU runner (`--threads`), part of the key
 * @param say - where to write what it is doing (one line each)
 * @example
 * ```ts
 * const curve = storedCostCurve(config, params, runner, 1, (line) => process.stderr.write(line));
 * curve.source; // "/home/me/.cache/jacobi-forcing/cost-curves/cpu-t1-...json (measured 2026-...; delete it to measure again)"
 * ```
 * @category CLI
 */
export function storedCostCurve(config: ModelConfig, params: Params, runner: ModelRunner, threads: number, say: (line: string) => void): CostCurve {
  const dir = costCurveDir();
  const key = costCurveKey(config, runner, threads);
  // the file: the backend and the shape readable in its name, the machine hashed
  const hash = createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 12);
  const file = join(dir, `${key.backend === "cpu" ? `cpu-t${key.threads}` : key.backend}-${key.shape}-${hash}.json`);
  const stored = existsSync(file) ? readStored(file, key) : null;
  if (stored !== null && typeof stored !== "string") {
    return { points: stored.points, source: `${file} (measured ${stored.measured}; delete it to measure again)` };
  }
  if (typeof stored === "string") say(`cost curve: ${file} cannot be used: ${stored}; measuring it again\n`);
  // the T a curve is measured at: every candidate block size that leaves room for a cached prefix
  const sizes = AUTO_BLOCK_SIZES.filter((n) => n < config.maxPositions);
  say(`cost curve: timing forwards of 1 to ${Math.max(...sizes)} tokens on ${runner.backend}, once for this machine and model shape ...\n`);
  const points = measureCostCurve(config, params, sizes, { reps: REPS, runner });
  const measured = new Date().toISOString();
  try {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(file, JSON.stringify({ key, measured, points } satisfies StoredCurve, null, 1) + "\n");
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    say(`cost curve: could not store it in ${dir} (${why}); it will be measured again next time\n`);
    return { points, source: `measured now (${measured}), not stored` };
  }
  return { points, source: `${file} (measured just now, ${measured}; delete it to measure again)` };
}
