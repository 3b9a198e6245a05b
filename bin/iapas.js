#!/usr/bin/env node
// In a clone the TypeScript sources run directly through tsx, so `npm ci` is all a fresh clone
// needs; an installed package (npm pack / npm install) ships the compiled dist/ and no src/.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../src/cli.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli.js');
  await main(process.argv);
} else {
  const { main } = await import('../dist/cli.js');
  await main(process.argv);
}
