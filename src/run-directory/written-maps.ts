/**
 * The maps a run wrote in this process: the sha256 of each map file's bytes, taken as it is
 * written, and the maps themselves up to a byte budget, so the run's evaluation reads a map back
 * from disk only when it was written by an earlier call (resume) or did not fit.
 */
import { createHash } from 'node:crypto';

export interface StoredMap {
  data: Float32Array;
  width: number;
  height: number;
}

const key = (category: string, relId: string) => `${category}\0${relId}`;

/** sha256 (hex) of a file's bytes given in parts. */
export function bytesDigest(parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export class WrittenMaps {
  private readonly digests = new Map<string, string>();
  private readonly kept = new Map<string, StoredMap>();
  private keptBytes = 0;

  /** `budget`: bytes of maps kept in memory (a map that would exceed it is left on disk only). */
  constructor(readonly budget = 256 * 2 ** 20) {}

  add(category: string, relId: string, digest: string, map: StoredMap): void {
    const k = key(category, relId);
    const before = this.kept.get(k);
    if (before) {
      this.keptBytes -= before.data.byteLength;
      this.kept.delete(k);
    }
    this.digests.set(k, digest);
    if (this.keptBytes + map.data.byteLength <= this.budget) {
      this.kept.set(k, map);
      this.keptBytes += map.data.byteLength;
    }
  }

  digest(category: string, relId: string): string | undefined {
    return this.digests.get(key(category, relId));
  }

  map(category: string, relId: string): StoredMap | undefined {
    return this.kept.get(key(category, relId));
  }
}
