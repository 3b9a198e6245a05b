/**
 * Queue jobs signed with a secret the submitter and the workers share (as Celery's message
 * signing): HMAC-SHA256 over a canonical serialisation of (queue job id, job data without its
 * signature). Anyone who can write to Redis can add jobs; without the secret they cannot sign
 * them, and a worker holding a secret runs only signed jobs. Binding the id keeps a signed payload
 * from being replayed under another job's id.
 *
 * Canonical form: JSON with every object's keys sorted, no whitespace; `undefined` members left
 * out, as JSON.stringify does (the data travels as JSON).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UserError } from '../../util/errors.js';

export const SECRET_ENV = 'IAPAS_QUEUE_SECRET';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function mac(jobId: string, payload: object, secret: string): string {
  return createHmac('sha256', secret).update(canonicalJson({ id: jobId, data: payload })).digest('hex');
}

/** The data with its `signature` member set. */
export function signJob<T extends object>(jobId: string, data: T, secret: string): T & { signature: string } {
  const { signature: _, ...payload } = data as T & { signature?: string };
  return { ...(payload as T), signature: mac(jobId, payload, secret) };
}

/** Whether `data.signature` is the HMAC of the rest of the data under this id and secret. */
export function verifyJob(jobId: string, data: Record<string, unknown>, secret: string): 'ok' | 'unsigned' | 'bad' {
  const { signature, ...payload } = data;
  if (signature === undefined) return 'unsigned';
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return 'bad';
  const want = Buffer.from(mac(jobId, payload, secret), 'hex');
  return timingSafeEqual(want, Buffer.from(signature, 'hex')) ? 'ok' : 'bad';
}

/** The shared secret: the file named by --secret-file (its first line), else $IAPAS_QUEUE_SECRET, else none. */
export async function readQueueSecret(secretFile?: string): Promise<string | undefined> {
  let secret: string | undefined;
  if (secretFile) {
    try {
      secret = (await readFile(secretFile, 'utf8')).split('\n')[0].trim();
    } catch (err) {
      throw new UserError(`cannot read --secret-file ${secretFile}: ${(err as Error).message}`);
    }
    if (!secret) throw new UserError(`--secret-file ${secretFile} is empty`);
  } else secret = process.env[SECRET_ENV] || undefined;
  if (secret !== undefined && secret.length < 16) throw new UserError(`the queue secret is ${secret.length} characters long; use at least 16 (e.g. openssl rand -hex 32)`);
  return secret;
}
