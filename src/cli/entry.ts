import { run } from './main.js';

run(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`rivulet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
