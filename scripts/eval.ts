// Script entry of evaluation until the CLI dispatches `eval`: npx tsx scripts/eval.ts --model DIR --data math
import { evalCommand } from "../src/cli/commands/eval.ts";
try {
  evalCommand(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
