/**
 * A closed-loop load generator on its own thread: `concurrency` clients each send the next request
 * as soon as the previous answer arrives, for `durationMs`. Reports requests/s and latency
 * percentiles. It checks every answer so a fast error never passes for throughput.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

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
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: spec, execArgv: ['--import', 'tsx'] });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function generate(spec: LoadSpec): Promise<LoadResult> {
  const target = new URL(spec.url);
  const pool = new Pool(target.origin, { connections: spec.concurrency });
  const headers = { 'content-type': 'application/json', ...spec.headers };
  const send = async (): Promise<string | undefined> => {
    const response = await pool.request({ method: 'POST', path: target.pathname, headers, body: spec.body });
    const text = await response.body.text();
    if (response.statusCode !== 200) return `HTTP ${response.statusCode}: ${text.slice(0, 200)}`;
    if (text.includes('"errors"')) return text.slice(0, 300);
    return undefined;
  };
  const loop = async (until: number, record: boolean, latencies: number[], failures: string[]) => {
    while (performance.now() < until) {
      const started = performance.now();
      const failure = await send().catch((e: Error) => e.message);
      if (!record) continue;
      latencies.push(performance.now() - started);
      if (failure) failures.push(failure);
    }
  };
  const clients = Array.from({ length: spec.concurrency });
  const warmupEnd = performance.now() + spec.warmupMs;
  await Promise.all(clients.map(() => loop(warmupEnd, false, [], [])));
  const latencies: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  const end = started + spec.durationMs;
  await Promise.all(clients.map(() => loop(end, true, latencies, failures)));
  const elapsed = performance.now() - started;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    failures: failures.length,
    requestsPerSecond: (latencies.length / elapsed) * 1000,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    firstFailure: failures[0],
  };
}

if (!isMainThread) {
  generate(workerData as LoadSpec).then((result) => parentPort!.postMessage(result));
}
