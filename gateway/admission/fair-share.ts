/**
 * Fair share of the gateway: how many requests run at once per caller, per caller nation and in
 * all. A request past a bound may wait briefly in a short queue (kinder to an honest burst); past
 * that it is refused at once, to be answered 429 with Retry-After. Every slot is returned exactly
 * once, and a waiting request whose client left stops waiting.
 */

export interface FairShareSettings {
  /**
   * Requests one caller (a nation's subject) runs at once. An analyst's app runs a handful at once
   * (with the queue, a burst of 8 passes without a 429); on a saturated gateway another caller's
   * latency grows with the flooder's running requests, so this is kept to a handful (see test/bench/faults.ts).
   */
  perCaller: number;
  /** Requests all of one nation's callers run at once: a quarter of the gateway, so one nation's callers never take it all. */
  perNation: number;
  /** Requests the gateway runs at once: bounds its own memory, whoever asks. */
  total: number;
  /** Requests of one caller that may wait for a slot (beyond that: refused at once). */
  queuePerCaller: number;
  /** Requests that may wait in all. */
  queueTotal: number;
  /** How long a request waits for a slot before it is refused. */
  maxWaitMs: number;
  /** What Retry-After says, in seconds. */
  retryAfterSeconds: number;
  /**
   * How long a request the gateway refused as malformed or over a limit (HTTP 400) keeps its slot
   * after its answer left: refusing is cheap but not free, and a caller sending nothing but hostile
   * operations would otherwise spend the gateway's CPU at the rate it can refuse them.
   */
  refusedHoldMs: number;
}

export const DEFAULT_FAIR_SHARE: Readonly<FairShareSettings> = {
  perCaller: 4,
  perNation: 64,
  total: 256,
  queuePerCaller: 4,
  queueTotal: 64,
  maxWaitMs: 1000,
  retryAfterSeconds: 1,
  refusedHoldMs: 250,
};

/** Which bound refused a request. */
export type FairShareScope = 'caller' | 'nation' | 'gateway';

export interface Caller {
  nation: string;
  subject: string;
}

export interface Refusal {
  scope: FairShareScope;
  limit: number;
  retryAfterSeconds: number;
}

export type Admission = { admitted: true; release(): void } | { admitted: false; refusal: Refusal };

interface Waiter {
  caller: Caller;
  callerKey: string;
  settle(admission: Admission): void;
}

export class FairShare {
  readonly settings: FairShareSettings;
  private readonly runningPerCaller = new Map<string, number>();
  private readonly runningPerNation = new Map<string, number>();
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly waitingPerCaller = new Map<string, number>();

  constructor(settings: Partial<FairShareSettings> = {}) {
    this.settings = validFairShareSettings(settings);
  }

  /** A slot, at once or after a short wait; or the bound that refused it. `gone` ends a wait early. */
  acquire(caller: Caller, gone?: AbortSignal): Promise<Admission> {
    const callerKey = keyOf(caller);
    if (!this.blockingScope(caller, callerKey)) return Promise.resolve(this.take(caller, callerKey));
    if ((this.waitingPerCaller.get(callerKey) ?? 0) >= this.settings.queuePerCaller || this.waiting.length >= this.settings.queueTotal) {
      return Promise.resolve(this.refusal(caller, callerKey));
    }
    return new Promise<Admission>((resolve) => {
      const stopWaiting = () => {
        if (this.removeWaiter(waiter)) waiter.settle(this.refusal(caller, callerKey));
      };
      const timer = setTimeout(stopWaiting, this.settings.maxWaitMs);
      timer.unref();
      gone?.addEventListener('abort', stopWaiting, { once: true });
      const waiter: Waiter = {
        caller,
        callerKey,
        settle: (admission) => {
          clearTimeout(timer);
          gone?.removeEventListener('abort', stopWaiting);
          resolve(admission);
        },
      };
      this.waiting.push(waiter);
      this.waitingPerCaller.set(callerKey, (this.waitingPerCaller.get(callerKey) ?? 0) + 1);
    });
  }

  /** Counts only (for /health and tests): who runs is nobody else's business. */
  snapshot(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private blockingScope(caller: Caller, callerKey: string): FairShareScope | undefined {
    if ((this.runningPerCaller.get(callerKey) ?? 0) >= this.settings.perCaller) return 'caller';
    if ((this.runningPerNation.get(caller.nation) ?? 0) >= this.settings.perNation) return 'nation';
    if (this.running >= this.settings.total) return 'gateway';
    return undefined;
  }

  private refusal(caller: Caller, callerKey: string): Admission {
    const scope = this.blockingScope(caller, callerKey) ?? 'caller';
    const limit = scope === 'caller' ? this.settings.perCaller : scope === 'nation' ? this.settings.perNation : this.settings.total;
    return { admitted: false, refusal: { scope, limit, retryAfterSeconds: this.settings.retryAfterSeconds } };
  }

  private take(caller: Caller, callerKey: string): Admission {
    this.running += 1;
    increment(this.runningPerCaller, callerKey, 1);
    increment(this.runningPerNation, caller.nation, 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.running -= 1;
        increment(this.runningPerCaller, callerKey, -1);
        increment(this.runningPerNation, caller.nation, -1);
        this.admitWaiting();
      },
    };
  }

  /** In the order they came, every waiter that now fits (a flooder's waiters do not hold up another caller's). */
  private admitWaiting(): void {
    for (const waiter of [...this.waiting]) {
      if (this.blockingScope(waiter.caller, waiter.callerKey)) continue;
      this.removeWaiter(waiter);
      waiter.settle(this.take(waiter.caller, waiter.callerKey));
    }
  }

  private removeWaiter(waiter: Waiter): boolean {
    const index = this.waiting.indexOf(waiter);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    increment(this.waitingPerCaller, waiter.callerKey, -1);
    return true;
  }
}

/** Subjects are unique within their nation's identity provider only. */
function keyOf(caller: Caller): string {
  return `${caller.nation}\u0000${caller.subject}`;
}

function increment(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next === 0) counts.delete(key);
  else counts.set(key, next);
}

export function validFairShareSettings(settings: Partial<FairShareSettings>): FairShareSettings {
  const merged = { ...DEFAULT_FAIR_SHARE, ...settings };
  for (const [name, value] of Object.entries(merged)) {
    const least = name.startsWith('queue') || name === 'refusedHoldMs' ? 0 : 1;
    if (!Number.isInteger(value) || value < least) throw new Error(`fairShare.${name} must be an integer of at least ${least}, got ${JSON.stringify(value)}`);
  }
  return merged;
}
