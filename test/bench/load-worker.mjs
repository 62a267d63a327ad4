// The load generator's thread (see load.ts). Plain JavaScript so a Node 20 worker can run it as is.
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';

/** An answer whose only errors have an accepted code: counted apart from failures. */
const PARTIAL = Symbol('partial');

async function generate(spec) {
  const target = new URL(spec.url);
  const pool = new Pool(target.origin, { connections: spec.concurrency });
  const headers = { 'content-type': 'application/json', ...spec.headers };
  // Codes that make an answer partial, not failed (e.g. NATION_UNAVAILABLE, in the fault benchmark).
  const accepted = new Set(spec.acceptedCodes ?? []);
  const statuses = {};
  let partial = 0;
  const send = async () => {
    const response = await pool.request({ method: 'POST', path: target.pathname, headers, body: spec.body });
    const text = await response.body.text();
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    if (response.statusCode !== 200) return `HTTP ${response.statusCode}: ${text.slice(0, 200)}`;
    if (!text.includes('"errors"')) return undefined;
    // A field the policy withholds is an answer, not a failure: only other errors count.
    const { errors = [] } = JSON.parse(text);
    const failed = errors.filter((e) => e.extensions?.code !== 'WITHHELD' && !accepted.has(e.extensions?.code));
    if (!failed.length && errors.some((e) => accepted.has(e.extensions?.code))) return PARTIAL;
    return failed.length ? JSON.stringify(failed).slice(0, 300) : undefined;
  };
  const loop = async (until, record, latencies, failures) => {
    while (performance.now() < until) {
      const started = performance.now();
      const outcome = await send().catch((e) => e.message);
      if (!record) continue;
      latencies.push(performance.now() - started);
      if (outcome === PARTIAL) partial += 1;
      else if (outcome) failures.push(outcome);
    }
  };
  const clients = Array.from({ length: spec.concurrency });
  const warmupEnd = performance.now() + spec.warmupMs;
  await Promise.all(clients.map(() => loop(warmupEnd, false, [], [])));
  const latencies = [];
  const failures = [];
  const started = performance.now();
  const end = started + spec.durationMs;
  await Promise.all(clients.map(() => loop(end, true, latencies, failures)));
  const elapsed = performance.now() - started;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const percentile = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    failures: failures.length,
    requestsPerSecond: (latencies.length / elapsed) * 1000,
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    firstFailure: failures[0],
    partial,
    statuses,
  };
}

generate(workerData).then((result) => parentPort.postMessage(result));
