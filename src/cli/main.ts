/**
 * The `jacobi-forcing` command line: dispatches to one command per file in `commands/`, and turns every
 * error into one line on stderr and a non-zero exit code (2 for bad usage, 1 for everything else) —
 * never a stack trace. A run stopped by a signal exits 128 + the signal's number, as shells do: 130
 * for SIGINT (Ctrl-C), 143 for SIGTERM.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CliError, commandHelp, parseFlags, type Command, type Io } from "./args.ts";
import { collectCommand } from "./commands/collect.ts";
import { demoCommand } from "./commands/demo.ts";
import { distillCommand } from "./commands/distill.ts";
import { evalCommand } from "./commands/eval.ts";
import { generateCommand } from "./commands/generate.ts";
import { initCommand } from "./commands/init.ts";
import { logitsCommand } from "./commands/logits.ts";
import { traceCommand } from "./commands/trace.ts";
import { trainCommand } from "./commands/train.ts";
import { packageRoot } from "./shipped-models.ts";

/**
 * Every command, by name.
 *
 * @category CLI
 */
export const COMMANDS: Readonly<Record<string, Command>> = {
  init: initCommand,
  generate: generateCommand,
  logits: logitsCommand,
  trace: traceCommand,
  demo: demoCommand,
  train: trainCommand,
  collect: collectCommand,
  distill: distillCommand,
  eval: evalCommand,
};

function usage(): string {
  const lines = ["usage: jacobi-forcing COMMAND [--flags]   (jacobi-forcing COMMAND -h, --help for its flags; --version)", "", "commands:"];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  return lines.join("\n") + "\n";
}

/**
 * Runs the CLI on `argv` (without `node` and the script) and returns the exit code.
 *
 * @example
 * ```ts
 * await main(["init", "--preset", "tiny", "--out", "/tmp/m"], io); // 0
 * ```
 * @category CLI
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (name === "--version" || (command !== undefined && rest.includes("--version"))) {     // the top level's and every command's
    io.out(`${(JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version}\n`);
    return 0;
  }
  try {
    if (command === undefined) throw new CliError(`unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(", ")}`);
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(commandHelp(name, command) + "\n");
      return 0;
    }
    return (await command.run(parseFlags(name, command, rest), io)) ?? 0;
  } catch (e) {
    io.err(`jacobi-forcing: ${messageOf(e)}\n`);
    return e instanceof CliError ? 2 : 1;
  }
}

/**
 * The one line an error is reported with: its message, except for a raw `node:fs` error that got this
 * far, which is said in words with the path it concerns ("runs/x: is a folder (EISDIR)").
 */
function messageOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const { code, path } = e as NodeJS.ErrnoException;
  if (code === undefined || path === undefined) return e.message;
  const words: Record<string, string> = {
    ENOENT: "no such file or folder", EISDIR: "is a folder", ENOTDIR: "is not a folder", EEXIST: "already exists",
    EACCES: "permission denied", EPERM: "permission denied", EROFS: "read-only file system", ENOSPC: "the disk is full",
  };
  return `${path}: ${words[code] ?? e.message} (${code})`;
}

/**
 * Runs the CLI on this process's arguments and sets its exit code (what `bin/jacobi-forcing.js` calls).
 * @example
 * ```ts
 * // bin/jacobi-forcing.js:
 * await runFromProcess();   // process.exitCode = 0, 1 (an error) or 2 (bad usage)
 * ```
 * @category CLI
 */
export async function runFromProcess(): Promise<void> {
  // `jacobi-forcing demo | head`: the reader has gone; stop quietly instead of dying with EPIPE
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(process.exitCode ?? 0);
  });
  const io: Io = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    isTTY: process.stdout.isTTY === true,
  };
  process.exitCode = await main(process.argv.slice(2), io);
}
