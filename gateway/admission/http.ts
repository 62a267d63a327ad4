/**
 * Fair share at the HTTP front: a verified caller's request takes a slot before it runs and gives
 * it back when its response closes (sent, failed, or the client left mid-answer); a refused one is
 * answered 429 with Retry-After and a GraphQL error naming the bound, never anything about other callers.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from '../http-adapter';
import type { Caller, FairShare, Refusal } from './fair-share';

export const RATE_LIMITED = 'RATE_LIMITED';

/**
 * true: the request may run. false: it was answered already (429), or its client is gone. A request
 * answered 400 (refused before any nation was asked) keeps its slot a little longer: see refusedHoldMs.
 */
export async function admitRequest(fairShare: FairShare, caller: Caller, res: ServerResponse): Promise<boolean> {
  const gone = new AbortController();
  let release: (() => void) | undefined;
  res.once('close', () => {
    gone.abort();
    if (!release) return;
    const hold = res.statusCode === 400 ? fairShare.settings.refusedHoldMs : 0;
    if (hold === 0) return release();
    setTimeout(release, hold).unref();
  });
  // The client may have left while its token was verified: its 'close' is past.
  if (!res.socket || res.socket.destroyed) return false;
  const admission = await fairShare.acquire(caller, gone.signal);
  if (!admission.admitted) {
    if (!gone.signal.aborted) refuse(res, admission.refusal);
    return false;
  }
  if (gone.signal.aborted) {
    admission.release();
    return false;
  }
  release = admission.release;
  return true;
}

function refuse(res: ServerResponse, refusal: Refusal): void {
  res.setHeader('retry-after', String(refusal.retryAfterSeconds));
  sendJson(res, 429, { errors: [{ message: messageOf(refusal), extensions: { code: RATE_LIMITED, scope: refusal.scope, limit: refusal.limit, retryAfterSeconds: refusal.retryAfterSeconds } }] });
}

function messageOf({ scope, limit, retryAfterSeconds }: Refusal): string {
  const retry = `Retry after ${retryAfterSeconds} s.`;
  switch (scope) {
    case 'caller':
      return `Too many requests at once from you: at most ${limit} of yours run at a time. ${retry}`;
    case 'nation':
      return `Too many requests at once from your nation's callers: at most ${limit} of theirs run at a time. ${retry}`;
    case 'gateway':
      return `The gateway is at capacity: at most ${limit} requests run at a time. ${retry}`;
  }
}
