import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { admitRequest, FairShare, validFairShareSettings, type Admission } from '../../gateway/admission';

const alice = { nation: 'DEU', subject: 'alice' };
const bob = { nation: 'DEU', subject: 'bob' };
const claire = { nation: 'FRA', subject: 'claire' };
/** Same subject, another nation's identity provider: another caller. */
const aliceOfFrance = { nation: 'FRA', subject: 'alice' };

function released(admission: Admission): () => void {
  if (!admission.admitted) throw new Error(`refused: ${JSON.stringify(admission.refusal)}`);
  return admission.release;
}

describe('fair share of the gateway', () => {
  it('runs a caller up to its bound, then refuses it naming the caller bound, while other callers still run', async () => {
    const share = new FairShare({ perCaller: 2, queuePerCaller: 0 });
    released(await share.acquire(alice));
    released(await share.acquire(alice));
    expect(await share.acquire(alice)).toEqual({ admitted: false, refusal: { scope: 'caller', limit: 2, retryAfterSeconds: 1 } });
    expect((await share.acquire(bob)).admitted).toBe(true);
    expect((await share.acquire(aliceOfFrance)).admitted).toBe(true);
  });

  it("bounds a nation's callers together, and the gateway in all", async () => {
    const share = new FairShare({ perCaller: 5, perNation: 3, total: 4, queuePerCaller: 0 });
    for (let i = 0; i < 2; i++) released(await share.acquire(alice));
    released(await share.acquire(bob));
    expect(await share.acquire(bob)).toMatchObject({ admitted: false, refusal: { scope: 'nation', limit: 3 } });
    released(await share.acquire(claire));
    expect(await share.acquire(claire)).toMatchObject({ admitted: false, refusal: { scope: 'gateway', limit: 4 } });
  });

  it('lets a request wait briefly for its slot, and gives it the slot as soon as one is returned', async () => {
    const share = new FairShare({ perCaller: 1, queuePerCaller: 1, maxWaitMs: 5000 });
    const release = released(await share.acquire(alice));
    const waiting = share.acquire(alice);
    expect(await share.acquire(alice)).toMatchObject({ admitted: false, refusal: { scope: 'caller' } });
    release();
    expect((await waiting).admitted).toBe(true);
    expect(share.snapshot()).toEqual({ running: 1, waiting: 0 });
  });

  it('refuses a waiting request once it has waited its bound', async () => {
    const share = new FairShare({ perCaller: 1, queuePerCaller: 1, maxWaitMs: 20 });
    released(await share.acquire(alice));
    expect(await share.acquire(alice)).toMatchObject({ admitted: false, refusal: { scope: 'caller' } });
    expect(share.snapshot()).toEqual({ running: 1, waiting: 0 });
  });

  it("does not hold another caller's waiting request behind a flooder's", async () => {
    const share = new FairShare({ perCaller: 2, perNation: 100, total: 3, queuePerCaller: 2, maxWaitMs: 5000 });
    const flood = [released(await share.acquire(alice)), released(await share.acquire(alice))];
    const other = released(await share.acquire(claire));
    const floodWaiting = share.acquire(alice);
    const claireWaiting = share.acquire(claire);
    other();
    expect((await claireWaiting).admitted).toBe(true);
    flood[0]!();
    expect((await floodWaiting).admitted).toBe(true);
  });

  it('stops a wait whose client left, and returns a slot only once however often it is released', async () => {
    const share = new FairShare({ perCaller: 1, queuePerCaller: 1, maxWaitMs: 5000 });
    const release = released(await share.acquire(alice));
    const gone = new AbortController();
    const waiting = share.acquire(alice, gone.signal);
    gone.abort();
    expect((await waiting).admitted).toBe(false);
    release();
    release();
    expect(share.snapshot()).toEqual({ running: 0, waiting: 0 });
    released(await share.acquire(alice));
    expect((await share.acquire(alice, AbortSignal.timeout(10))).admitted).toBe(false);
  });

  it('refuses settings that are not integers in range, naming the setting', () => {
    expect(() => validFairShareSettings({ perCaller: 0 })).toThrow('fairShare.perCaller must be an integer of at least 1, got 0');
    expect(() => validFairShareSettings({ maxWaitMs: -1 })).toThrow('fairShare.maxWaitMs must be an integer of at least 1, got -1');
    expect(validFairShareSettings({ queuePerCaller: 0 }).queuePerCaller).toBe(0);
  });
});

describe('a caller whose operations the gateway refuses (HTTP 400)', () => {
  it('keeps its slot a little after each refusal, so hostile operations cannot spend the gateway at the rate it refuses them; an answered request gives it back at once', async () => {
    // A short wait in the queue covers the moment between a client reading its answer and the server
    // seeing the response close; it is far shorter than the hold.
    const share = new FairShare({ perCaller: 1, queuePerCaller: 1, maxWaitMs: 150, refusedHoldMs: 1500 });
    const server = createServer(async (req, res) => {
      if (!(await admitRequest(share, alice, res))) return;
      res.writeHead(req.url === '/refused' ? 400 : 200).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
    try {
      expect((await fetch(url('/answered'))).status).toBe(200);
      expect((await fetch(url('/answered'))).status).toBe(200);
      expect((await fetch(url('/refused'))).status).toBe(400);
      expect((await fetch(url('/answered'))).status).toBe(429);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      expect((await fetch(url('/answered'))).status).toBe(200);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
