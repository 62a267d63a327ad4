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
}

export interface LoadResult {
  requests: number;
  failures: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  firstFailure?: string;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // Plain JavaScript: Node 20 workers do not take tsx's loader.
    const worker = new Worker(fileURLToPath(new URL('./load-worker.mjs', import.meta.url)), { workerData: spec });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

