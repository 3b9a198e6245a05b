import type { Command } from 'commander';
import { register as datasetsCmd } from './datasets.js';
import { register as configCmd } from './config.js';
import { register as cacheCmd } from './cache.js';
import { register as runCmd } from './run.js';
import { register as segmentCmd } from './segment.js';
import { register as demoCmd } from './demo.js';
import { register as oracleCmd } from './oracle.js';
import { register as promptsCmd } from './prompts.js';
import { register as modelsCmd } from './models.js';
import { register as evaluateCmd } from './evaluate.js';
import { register as compareCmd } from './compare.js';
import { register as sweepCmd } from './sweep.js';
import { register as workerCmd } from './worker.js';
import { register as reportCmd } from './report.js';
import { register as tuneCmd } from './tune.js';

// One line per command group; each module exports `register(program: Command): void`.
const groups: Array<(program: Command) => void> = [
  datasetsCmd,
  configCmd,
  cacheCmd,
  runCmd,
  segmentCmd,
  demoCmd,
  oracleCmd,
  promptsCmd,
  modelsCmd,
  evaluateCmd,
  compareCmd,
  sweepCmd,
  workerCmd,
  reportCmd,
  tuneCmd,
];

export function registerAll(program: Command): void {
  for (const register of groups) register(program);
}
