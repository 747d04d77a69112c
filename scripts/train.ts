// Script entry of training until the CLI dispatches `train`: npx tsx scripts/train.ts --data math ...
import { trainCommand } from "../src/cli/commands/train.ts";
try {
  await trainCommand(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
