// Compiles src/ to dist/ (JavaScript, declarations, source maps) for the published package, and
// copies the files the code reads beside itself (report assets, SAA+ phrase lists). Run by
// `npm run build` and by `npm pack` (prepack); a clone never needs it (bin/iapas.js runs src/).
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
cpSync(`${root}src`, dist, { recursive: true, filter: (from) => !from.endsWith('.ts') });
process.stdout.write(`built ${dist}\n`);
