/**
 * Running the CLI in-process from a spec: `main` with captured output, not on a TTY.
 */
import { main } from "../../src/cli/main.ts";

/** What one command printed and its exit status. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `jacobi-forcing ...argv` in-process and captures stdout and stderr. */
export async function cli(...argv: string[]): Promise<CliRun> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; }, isTTY: false });
  return { code, out, err };
}
