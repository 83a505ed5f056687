#!/usr/bin/env node
// Compiled by `npm run build` (run automatically by `npm install`/`npm ci`).
import '../dist/app/cli/main.js';
