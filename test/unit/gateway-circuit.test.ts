import { describe, expect, it } from 'vitest';
import { Circuit, validCircuitSettings, type CircuitClock } from '../../gateway/fanout/circuit';

/** Time that moves only when the test says so; timers run in order as it passes them. */
function fakeClock(start = Date.parse('2025-01-01T00:00:00Z')) {
  let now = start;
  let timers: { at: number; run: () => void }[] = [];
  const clock: CircuitClock & { advance(ms: number): Promise<void>; pending(): number } = {
    now: () => now,
    after(ms, run) {
      const timer = { at: now + ms, run };
      timers.push(timer);
      return () => void (timers = timers.filter((t) => t !== timer));
    },
    async advance(ms) {
      const until = now + ms;
      for (;;) {
        const next = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        timers = timers.filter((t) => t !== next);
        now = next.at;
        next.run();
        await settle();
      }
      now = until;
    },
    pending: () => timers.length,
  };
  return clock;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A probe the test answers: `answering` decides whether the subgraph answers now. */
function scriptedProbe() {
  const probe = Object.assign(
    async (timeoutMs: number) => {
      probe.calls.push(timeoutMs);
      if (!probe.answering) throw new Error('no answer');
    },
    { answering: false, calls: [] as number[] },
  );
  return probe;
}

describe('a nation circuit', () => {
  it('stays closed through fewer consecutive failures than its bound, and a success starts the count again', () => {
    const circuit = new Circuit({ failuresToOpen: 3 }, scriptedProbe(), fakeClock());
    circuit.failed('no answer within 1500 ms');
    circuit.failed('no answer within 1500 ms');
    circuit.succeeded();
    circuit.failed('no answer within 1500 ms');
    circuit.failed('no answer within 1500 ms');
    expect(circuit.refusal()).toBeUndefined();
    expect(circuit.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 2 });
  });

  it('opens on the bound-th consecutive failure: it refuses at once, says since when, why and when it is probed, and aborts requests waiting on it', () => {
    const clock = fakeClock();
    const circuit = new Circuit({ failuresToOpen: 3, probeIntervalMs: 1000 }, scriptedProbe(), clock);
    const waiting = circuit.openSignal;
    for (let i = 0; i < 3; i++) circuit.failed('no answer within 1500 ms');
    const refusal = circuit.refusal();
    expect(refusal).toBe(
      'its circuit is open since 2025-01-01T00:00:00.000Z after 3 consecutive failures (the last: no answer within 1500 ms); it is probed every 1000 ms, next at 2025-01-01T00:00:01.000Z',
    );
    expect(waiting.aborted).toBe(true);
    expect(String(waiting.reason)).toBe(refusal);
    expect(circuit.snapshot()).toEqual({ state: 'open', since: '2025-01-01T00:00:00.000Z', lastFailure: 'no answer within 1500 ms', nextProbeAt: '2025-01-01T00:00:01.000Z' });
  });

  it('probes every interval while open, with its own deadline, and closes when the probe is answered', async () => {
    const clock = fakeClock();
    const probe = scriptedProbe();
    const circuit = new Circuit({ failuresToOpen: 2, probeIntervalMs: 1000, probeTimeoutMs: 400 }, probe, clock);
    circuit.failed('unreachable (ECONNREFUSED)');
    circuit.failed('unreachable (ECONNREFUSED)');
    await clock.advance(999);
    expect(probe.calls).toEqual([]);
    await clock.advance(1);
    expect(probe.calls).toEqual([400]);
    await clock.advance(2000);
    expect(probe.calls).toHaveLength(3);
    expect(circuit.refusal()).toContain('next at 2025-01-01T00:00:04.000Z');
    probe.answering = true;
    await clock.advance(1000);
    expect(circuit.refusal()).toBeUndefined();
    expect(circuit.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 0 });
    expect(circuit.openSignal.aborted).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it('does not count the failures of requests given up when it opened, and opens again after a fresh run of failures', async () => {
    const clock = fakeClock();
    const probe = scriptedProbe();
    const circuit = new Circuit({ failuresToOpen: 2, probeIntervalMs: 1000 }, probe, clock);
    circuit.failed('a');
    circuit.failed('b');
    circuit.failed('given up: the circuit opened');
    expect(circuit.snapshot()).toMatchObject({ state: 'open', lastFailure: 'b' });
    probe.answering = true;
    await clock.advance(1000);
    circuit.failed('c');
    expect(circuit.refusal()).toBeUndefined();
    circuit.failed('d');
    expect(circuit.snapshot()).toMatchObject({ state: 'open', lastFailure: 'd', since: '2025-01-01T00:00:01.000Z' });
  });

  it('is closed by a real answer that arrives while it is open', () => {
    const circuit = new Circuit({ failuresToOpen: 1 }, scriptedProbe(), fakeClock());
    circuit.failed('a');
    circuit.succeeded();
    expect(circuit.refusal()).toBeUndefined();
  });

  it('stops probing when disposed, and a probe answered after that changes nothing', async () => {
    const clock = fakeClock();
    let answer!: () => void;
    const circuit = new Circuit({ failuresToOpen: 1, probeIntervalMs: 1000 }, () => new Promise<void>((resolve) => (answer = resolve)), clock);
    circuit.failed('a');
    await clock.advance(1000);
    circuit.dispose();
    answer();
    await settle();
    expect(circuit.snapshot().state).toBe('open');
    expect(clock.pending()).toBe(0);
  });

  it('refuses settings that are not positive integers, naming the setting', () => {
    expect(() => validCircuitSettings({ failuresToOpen: 0 })).toThrow('circuit.failuresToOpen must be a positive integer, got 0');
    expect(() => validCircuitSettings({ probeIntervalMs: 1.5 })).toThrow('circuit.probeIntervalMs must be a positive integer, got 1.5');
    expect(validCircuitSettings({})).toEqual({ failuresToOpen: 3, probeIntervalMs: 1000, probeTimeoutMs: 1000 });
  });
});
