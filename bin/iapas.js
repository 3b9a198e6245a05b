#!/usr/bin/env node
// Runs the TypeScript sources directly (no build step), so a fresh clone works after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.js');
await main(process.argv);
