#!/usr/bin/env node
import { run } from '../dist/cli/main.js';

run(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
