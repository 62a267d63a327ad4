/**
 * A circuit breaker per subgraph: after `failuresToOpen` consecutive failures (no answer in time,
 * unreachable, a 5xx without data) the circuit opens, and requests fail at once instead of each
 * waiting out the timeout. While open, a background probe asks the subgraph something cheap every
 * `probeIntervalMs`; the first answer closes the circuit.
 *
 * Probe-only, no half-open: a half-open circuit lets a real request through as the test, and that
 * request's caller waits the full timeout if the subgraph is still hung. The probe costs no caller.
 * opossum was considered: its half-open state tests with real traffic and its reset is a timer of
 * its own, so an async probe that closes the circuit does not fit it cleanly.
 */
import { setMaxListeners } from 'node:events';

export interface CircuitSettings {
  /** Consecutive failures that open the circuit. */
  failuresToOpen: number;
  /** How often an open circuit probes the subgraph. */
  probeIntervalMs: number;
  /** How long one probe may take before it counts as no answer. */
  probeTimeoutMs: number;
}

export const DEFAULT_CIRCUIT_SETTINGS: Readonly<CircuitSettings> = { failuresToOpen: 3, probeIntervalMs: 1000, probeTimeoutMs: 1000 };

/** Time as the circuit sees it: the real clock, or a test's fake one. */
export interface CircuitClock {
  now(): number;
  /** Schedules `run` after `ms`; the timer must not keep the process alive. Returns a cancel. */
  after(ms: number, run: () => void): () => void;
}

export const systemClock: CircuitClock = {
  now: () => Date.now(),
  after(ms, run) {
    const timer = setTimeout(run, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** Answers without data when the subgraph answers; rejects when it does not. Given its deadline. */
export type CircuitProbe = (timeoutMs: number) => Promise<void>;

export type CircuitSnapshot =
  | { state: 'closed'; consecutiveFailures: number }
  | { state: 'open'; since: string; lastFailure: string; nextProbeAt: string };

interface OpenState {
  since: number;
  lastFailure: string;
  nextProbeAt: number;
}

export class Circuit {
  private readonly settings: CircuitSettings;
  private consecutiveFailures = 0;
  private open: OpenState | undefined;
  private cancelProbe: (() => void) | undefined;
  private opened = listenedByEveryRequest();
  private disposed = false;

  constructor(settings: Partial<CircuitSettings>, private readonly probe: CircuitProbe, private readonly clock: CircuitClock = systemClock) {
    this.settings = validCircuitSettings(settings);
  }

  /** Why the subgraph is not asked while the circuit is open; undefined when it may be asked. */
  refusal(): string | undefined {
    if (!this.open) return undefined;
    const { since, lastFailure, nextProbeAt } = this.open;
    return (
      `its circuit is open since ${iso(since)} after ${this.settings.failuresToOpen} consecutive failures (the last: ${lastFailure}); ` +
        `it is probed every ${this.settings.probeIntervalMs} ms, next at ${iso(nextProbeAt)}`
    );
  }

  /** Aborts when the circuit opens, so requests already waiting on the subgraph give up at once (a fresh signal each time it closes). */
  get openSignal(): AbortSignal {
    return this.opened.signal;
  }

  succeeded(): void {
    this.consecutiveFailures = 0;
    if (this.open) this.close();
  }

  failed(reason: string): void {
    // Requests in flight when it opened fail too; they say nothing new.
    if (this.open || this.disposed) return;
    this.consecutiveFailures += 1;
    if (this.consecutiveFailures >= this.settings.failuresToOpen) this.openNow(reason);
  }

  snapshot(): CircuitSnapshot {
    if (!this.open) return { state: 'closed', consecutiveFailures: this.consecutiveFailures };
    return { state: 'open', since: iso(this.open.since), lastFailure: this.open.lastFailure, nextProbeAt: iso(this.open.nextProbeAt) };
  }

  /** Stops probing for good (the gateway stops). */
  dispose(): void {
    this.disposed = true;
    this.cancelProbe?.();
    this.cancelProbe = undefined;
  }

  private openNow(reason: string): void {
    const now = this.clock.now();
    this.open = { since: now, lastFailure: reason, nextProbeAt: now };
    this.scheduleProbe();
    this.opened.abort(this.refusal());
  }

  private close(): void {
    this.open = undefined;
    this.consecutiveFailures = 0;
    this.opened = listenedByEveryRequest();
    this.cancelProbe?.();
    this.cancelProbe = undefined;
  }

  private scheduleProbe(): void {
    if (!this.open || this.disposed) return;
    this.open.nextProbeAt = this.clock.now() + this.settings.probeIntervalMs;
    this.cancelProbe = this.clock.after(this.settings.probeIntervalMs, () => void this.runProbe());
  }

  private async runProbe(): Promise<void> {
    this.cancelProbe = undefined;
    let answered: boolean;
    try {
      await this.probe(this.settings.probeTimeoutMs);
      answered = true;
    } catch {
      answered = false;
    }
    if (this.disposed || !this.open) return;
    if (answered) this.close();
    else this.scheduleProbe();
  }
}

/** Every request in flight listens to it (their number is bounded by the connection pool and fair share, not by 10). */
function listenedByEveryRequest(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

export function validCircuitSettings(settings: Partial<CircuitSettings>): CircuitSettings {
  const merged = { ...DEFAULT_CIRCUIT_SETTINGS, ...settings };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`circuit.${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return merged;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
