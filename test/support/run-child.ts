/**
 * A run in a child process, for tests that kill it (SIGKILL, SIGINT): `iapas run`'s path
 * (runOnDataset with Ctrl-C handling) with the model-free pipeline of fake-pipeline.ts, so a kill
 * lands mid-run without model start-up costs.
 *
 *   node --import tsx test/support/run-child.ts <dataset> <run dir> [--resume] [--delay ms]
 *
 * Prints 'start' when the run begins and 'image <relId>' for each image it computes; exits 130
 * when interrupted, as `iapas run` does.
 */
import { abortOnSigint } from '../../src/commands/run-output.js';
import { runOnDataset } from '../../src/session/run-dataset.js';
import { fakePipeline } from './fake-pipeline.js';
import { buildConfig } from '../../src/methods/registry.js';

const [dataset, runDir, ...rest] = process.argv.slice(2);
const delay = rest.includes('--delay') ? Number(rest[rest.indexOf('--delay') + 1]) : 60;
const config = buildConfig('fewshot', { flags: { references: { k: 2 }, concurrency: 2, cache: false, eval: { resolution: 32 } } });
const sig = abortOnSigint();
process.stdout.write('start\n');
try {
  const res = await runOnDataset({
    config,
    dataset,
    runDir,
    resume: rest.includes('--resume'),
    quiet: true,
    signal: sig.signal,
    pipeline: fakePipeline({ delayMs: delay }),
    onImage: (rec, computed) => {
      if (computed) process.stdout.write(`image ${rec.relId}\n`);
    },
  });
  process.exitCode = res.run.aborted ? 130 : 0;
} finally {
  sig.dispose();
}
