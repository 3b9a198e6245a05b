/**
 * A process that hammers a DiskCache: writes self-checking entries (sha256 of the body first) to a
 * few keys shared with another such process, and reads keys back between writes, counting reads
 * that are torn (wrong length or checksum). Run by test/util/disk-cache-processes.test.ts:
 *   node --import tsx test/support/cache-writer.ts <cache root> <writer id> <writes> <start at ms>
 */
import { createHash } from 'node:crypto';
import { DiskCache } from '../../src/util/disk-cache.js';

const [root, id, writesArg, startArg] = process.argv.slice(2);
const writes = Number(writesArg);
const KEYS = ['k0', 'k1', 'k2', 'k3'];
const BODY = 256 * 1024;

function payload(i: number): Uint8Array {
  const body = Buffer.alloc(BODY, (Number(id) * 131 + i) & 0xff);
  body.write(`${id}:${i}`, 0);
  return Buffer.concat([createHash('sha256').update(body).digest(), body]);
}

function intact(b: Uint8Array): boolean {
  if (b.length !== 32 + BODY) return false;
  const digest = createHash('sha256').update(b.subarray(32)).digest();
  return Buffer.compare(digest, Buffer.from(b.subarray(0, 32))) === 0;
}

const cache = new DiskCache(root);
// Both processes start together, so that their writes overlap.
while (Date.now() < Number(startArg)) await new Promise((r) => setTimeout(r, 5));
const out = { writes: 0, reads: 0, torn: 0, errors: [] as string[] };
for (let i = 0; i < writes; i++) {
  try {
    await cache.setBytes('stress', KEYS[i % KEYS.length], payload(i));
    // Writes go behind; wait for this one, so that the reads below race the other process on disk.
    await cache.flush();
    out.writes++;
    const got = await cache.getBytes('stress', KEYS[(i * 7 + Number(id)) % KEYS.length]);
    if (got) {
      out.reads++;
      if (!intact(got)) out.torn++;
    }
  } catch (err) {
    out.errors.push((err as Error).message);
  }
}
process.stdout.write(JSON.stringify(out));
