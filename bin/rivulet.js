#!/usr/bin/env node
// The `rivulet` command; the TypeScript sources are compiled to dist/ by `npm ci` (prepare).
import '../dist/cli/entry.js';
