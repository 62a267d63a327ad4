// A flooder in a process of its own, run under `nice` by faults.ts: a real flood comes from another
// machine, so its own client work must not take the gateway's CPU on a shared 2-core benchmark box.
// Arguments: url, authorization header, body, concurrency, duration ms. Prints {requests, refused}.
import { Pool } from 'undici';

const [url, authorization, body, concurrency, durationMs] = process.argv.slice(2);
const target = new URL(url);
const pool = new Pool(target.origin, { connections: Number(concurrency) });
const counts = { requests: 0, refused: 0, firstRefusal: undefined };
const until = performance.now() + Number(durationMs);
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (performance.now() < until) {
      const response = await pool.request({ method: 'POST', path: target.pathname, headers: { 'content-type': 'application/json', authorization }, body });
      const text = await response.body.text();
      counts.requests += 1;
      if (response.statusCode === 429) {
        counts.refused += 1;
        counts.firstRefusal ??= text;
      }
    }
  }),
);
await pool.close();
console.log(JSON.stringify(counts));
