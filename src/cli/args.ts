/**
 * A small argument parser for the CLI commands: `--name value`, `--flag`, typed, with clear errors.
 *
 * @module
 */

/** A mistake on the command line; the CLI prints its message alone. @category CLI */
export class UsageError extends Error {
  /** @param message - the full message, starting with the command name */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** How one option is read. @category CLI */
export interface OptionSpec {
  /** `string`, `integer`, `number` or `boolean` (a flag without value). */
  readonly type: "string" | "integer" | "number" | "boolean";
  /** The option must be given. */
  readonly required?: boolean;
  /** Value when absent. */
  readonly default?: string | number | boolean;
}

/**
 * Parses `--name value` pairs and `--flag`s against `specs`.
 *
 * @throws UsageError naming the command and the offending argument
 * @example
 * ```ts
 * parseArgs("train", ["--steps", "10"], { steps: { type: "integer" } }); // { steps: 10 }
 * ```
 * @category CLI
 */
export function parseArgs(command: string, argv: readonly string[], specs: Readonly<Record<string, OptionSpec>>): Record<string, string | number | boolean | undefined> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) if (spec.default !== undefined) out[name] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new UsageError(`${command}: unexpected argument "${arg}"`);
    const name = arg.slice(2);
    const spec = specs[name];
    if (spec === undefined) throw new UsageError(`${command}: unknown option --${name}; expected one of ${Object.keys(specs).map((k) => `--${k}`).join(", ")}`);
    if (spec.type === "boolean") {
      out[name] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${command}: --${name} needs a value`);
    if (spec.type === "string") out[name] = value;
    else {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n) || (spec.type === "integer" && !Number.isSafeInteger(n))) {
        throw new UsageError(`${command}: --${name} must be ${spec.type === "integer" ? "an integer" : "a number"}, got "${value}"`);
      }
      out[name] = n;
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && out[name] === undefined) throw new UsageError(`${command}: --${name} is required`);
  }
  return out;
}
