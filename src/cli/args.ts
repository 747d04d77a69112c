/**
 * What a CLI command is, and a small command-line flag parser with clear errors. A command declares its
 * flags as data and has a `run` function that writes to the given streams; the parser rejects unknown
 * flags, missing values, malformed numbers and numbers out of their declared range (`positive`, `min`,
 * `max`) with one line that names the flag. Commands never read `process.argv`, and call `process.exit`
 * only on a second Ctrl-C (the user insists), so specs can run them in-process.
 *
 * Not a general-purpose parser: flags are `--name value` or `--name=value`, booleans are `--name`,
 * and there are no positional arguments besides the command name.
 *
 * @module
 */

/**
 * Thrown for bad command-line input; the CLI prints its message (no stack trace) and exits with code 2.
 *
 * @example
 * ```ts
 * throw new CliError("generate: --block-size must be a number, got \"many\""); // the CLI prints the message, exits 2
 * ```
 * @category CLI
 */
export class CliError extends Error {
  /** The class name, shown before the message: the message itself names the function that found the problem. */
  override readonly name = "CliError";
}

/**
 * One flag of a command.
 *
 * @category CLI
 */
export interface FlagSpec {
  /** `string`, `int` (a safe integer), `number` (finite), or `boolean` (present or absent). */
  readonly type: "string" | "int" | "number" | "boolean";
  /** One line for `--help`. */
  readonly help: string;
  /** Value when the flag is absent; a flag without a default and not `optional` is required. */
  readonly default?: string | number | boolean;
  /** Allowed values of a string flag. */
  readonly choices?: readonly string[];
  /** True when the flag may be absent and has no default. */
  readonly optional?: boolean;
  /** Numbers: must be above 0 (a count, a rate, a standard deviation). */
  readonly positive?: boolean;
  /** Numbers: the smallest value allowed. */
  readonly min?: number;
  /** Numbers: the largest value allowed. */
  readonly max?: number;
  /** What `max` is, for the message, e.g. "the cores of this machine". */
  readonly maxIs?: string;
}

/**
 * A command: its flags and what it does.
 *
 * @category CLI
 */
export interface CommandSpec {
  /** One line for the command list. */
  readonly summary: string;
  /** The flags, by name (without the dashes). */
  readonly flags: Readonly<Record<string, FlagSpec>>;
}

/**
 * Where a command writes.
 *
 * @category CLI
 */
export interface Io {
  /** Writes to standard output (the command adds its own newlines). */
  readonly out: (text: string) => void;
  /** Writes to standard error. */
  readonly err: (text: string) => void;
  /** True when standard output is a terminal (colour and progress bars allowed). */
  readonly isTTY: boolean;
}

/**
 * A CLI command.
 *
 * @category CLI
 */
export interface Command extends CommandSpec {
  /**
   * Runs the command with parsed flags. It returns nothing when it did its work (exit code 0), or the
   * exit code of a run stopped by a signal (130 for SIGINT, 143 for SIGTERM); failures are thrown.
   */
  readonly run: (flags: Flags, io: Io) => void | number | Promise<void | number>;
}

/**
 * Parsed flag values by name.
 *
 * @category CLI
 */
export type Flags = Record<string, string | number | boolean | undefined>;

/**
 * Parses `args` (what follows the command name) against `spec`.
 *
 * @example
 * ```ts
 * parseFlags("init", { summary: "", flags: { seed: { type: "int", help: "", default: 0 } } }, ["--seed", "7"]); // { seed: 7 }
 * ```
 * @category CLI
 */
export function parseFlags(command: string, spec: CommandSpec, args: readonly string[]): Flags {
  const out: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new CliError(`${command}: unexpected argument ${JSON.stringify(arg)} (flags start with --)`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const flag = spec.flags[name];
    if (flag === undefined) {
      throw new CliError(`${command}: unknown flag --${name} (known: ${Object.keys(spec.flags).map((f) => "--" + f).join(", ")})`);
    }
    if (name in out) throw new CliError(`${command}: --${name} given twice`);
    if (flag.type === "boolean") {
      if (eq >= 0) throw new CliError(`${command}: --${name} takes no value`);
      out[name] = true;
      continue;
    }
    if (eq < 0 && i + 1 >= args.length) throw new CliError(`${command}: --${name} needs a value`);
    out[name] = convert(command, name, flag, eq >= 0 ? arg.slice(eq + 1) : args[++i]);
  }
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (name in out) continue;
    if (flag.default !== undefined) out[name] = flag.default;
    else if (flag.type === "boolean") out[name] = false;
    else if (!flag.optional) throw new CliError(`${command}: --${name} is required (${flag.help})`);
  }
  return out;
}

function convert(command: string, name: string, flag: FlagSpec, raw: string): string | number {
  if (flag.type === "string") {
    if (flag.choices && !flag.choices.includes(raw)) {
      throw new CliError(`${command}: --${name} must be one of ${flag.choices.join(", ")}, got ${JSON.stringify(raw)}`);
    }
    return raw;
  }
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value)) throw new CliError(`${command}: --${name} must be a number, got ${JSON.stringify(raw)}`);
  if (flag.type === "int" && !Number.isSafeInteger(value)) throw new CliError(`${command}: --${name} must be an integer, got ${JSON.stringify(raw)}`);
  if (flag.positive && value <= 0) throw new CliError(`${command}: --${name} must be positive, got ${raw}`);
  if (flag.min !== undefined && value < flag.min) throw new CliError(`${command}: --${name} must be at least ${flag.min}, got ${raw}`);
  if (flag.max !== undefined && value > flag.max) {
    throw new CliError(`${command}: --${name} must be at most ${flag.max}${flag.maxIs ? ` (${flag.maxIs})` : ""}, got ${raw}`);
  }
  return value;
}

/**
 * Parses a comma-separated list of token ids such as `5,9,12`.
 *
 * @example
 * ```ts
 * parseIds("logits", "prompt-ids", "1, 40,41"); // [1, 40, 41]
 * parseIds("logits", "prompt-ids", "1,x");      // throws: logits: --prompt-ids entry 1 must be a non-negative integer token id, got "x"
 * ```
 * @category CLI
 */
export function parseIds(command: string, flag: string, raw: string): number[] {
  return raw.split(",").map((s, i) => {
    const p = s.trim();
    const v = Number(p);
    if (p === "" || !Number.isSafeInteger(v) || v < 0) {
      throw new CliError(`${command}: --${flag} entry ${i} must be a non-negative integer token id, got ${JSON.stringify(p)}`);
    }
    return v;
  });
}

/** The column where a flag's help starts in `--help`. */
const HELP_COLUMN = 34;

/**
 * The `--help` text of a command: a flag and its values, then its help from {@link HELP_COLUMN} (on the
 * next line when the flag and its values reach that column).
 *
 * @example
 * ```ts
 * commandHelp("logits", logitsCommand);
 * // jacobi-forcing logits: print the [T][V] logits of a causal forward over the given token ids
 * //
 * //   --model STRING                  checkpoint folder
 * //   ...
 * ```
 * @category CLI
 */
export function commandHelp(name: string, spec: CommandSpec): string {
  const lines = [`jacobi-forcing ${name}: ${spec.summary}`, ""];
  for (const [flag, f] of Object.entries(spec.flags)) {
    const value = f.type === "boolean" ? "" : f.choices ? ` ${f.choices.join("|")}` : ` ${f.type.toUpperCase()}`;
    const def = f.default !== undefined && f.type !== "boolean" ? ` (default ${f.default})` : "";
    const left = `  --${flag}${value}`;                                 // a long value list puts the help on the next line
    lines.push(left.length < HELP_COLUMN ? left.padEnd(HELP_COLUMN) + f.help + def : `${left}\n${" ".repeat(HELP_COLUMN)}${f.help}${def}`);
  }
  return lines.join("\n");
}
