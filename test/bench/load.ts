/**
 * A closed-loop load generator on its own thread: `concurrency` clients each send the next request
 * as soon as the previous answer arrives, for `durationMs`. Reports requests/s and latency
 * percentiles. It checks every answer so a fast error never passes for throughput.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /** Error codes that make an answer partial rather than failed (counted in `partial`). */
  acceptedCodes?: string[];
}

export interface LoadResult {
  requests: number;
  failures: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  firstFailure?: string;
  /** Answers whose only errors (besides WITHHELD) had an accepted code. */
  partial: number;
  /** Answers per HTTP status, measured and warm-up alike. */
  statuses: Record<string, number>;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // Plain JavaScript: Node 20 workers do not take tsx's loader.
    const worker = new Worker(fileURLToPath(new URL('./load-worker.mjs', import.meta.url)), { workerData: spec });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

