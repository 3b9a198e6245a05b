/** A backbone that counts its feature passes and the time they take (run summaries, throughput figures). */
import type { Backbone } from '../../models/backbones/types.js';

export interface TimedBackbone extends Backbone {
  readonly runs: number;
  readonly ms: number;
}

export function timedBackbone(inner: Backbone): TimedBackbone {
  let runs = 0;
  let ms = 0;
  const time = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      runs++;
      ms += performance.now() - t0;
    }
  };
  return {
    get name() {
      return inner.name;
    },
    get scaleNames() {
      return inner.scaleNames;
    },
    get runs() {
      return runs;
    },
    get ms() {
      return ms;
    },
    id: () => inner.id(),
    extract: (image) => time(() => inner.extract(image)),
    extractScales: (image) => time(() => inner.extractScales(image)),
    dispose: inner.dispose ? () => inner.dispose!() : undefined,
  };
}
