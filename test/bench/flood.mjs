// Another caller's traffic, in a process of its own that faults.ts runs under `nice`: a real flood or
// attack comes from another machine, so its own client work must not take the gateway's CPU on a
// shared 2-core benchmark box. Argument: a JSON file { url, authorization, bodies, concurrency, durationMs }
// (a file: the hostile bodies are too large for a command line);
// each client sends the bodies in turn. Prints { requests, statuses, firstRefusal }.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

const { url, authorization, bodies, concurrency, durationMs } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const target = new URL(url);
const pool = new Pool(target.origin, { connections: concurrency });
const counts = { requests: 0, statuses: {}, firstRefusal: undefined };
const until = performance.now() + durationMs;
await Promise.all(
  Array.from({ length: concurrency }, async (_, client) => {
    for (let i = client; performance.now() < until; i++) {
      const response = await pool.request({ method: 'POST', path: target.pathname, headers: { 'content-type': 'application/json', authorization }, body: bodies[i % bodies.length] });
      const text = await response.body.text();
      counts.requests += 1;
      counts.statuses[response.statusCode] = (counts.statuses[response.statusCode] ?? 0) + 1;
      if (response.statusCode !== 200) counts.firstRefusal ??= text.slice(0, 300);
    }
  }),
);
await pool.close();
console.log(JSON.stringify(counts));
