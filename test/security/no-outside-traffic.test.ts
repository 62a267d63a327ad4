/**
 * A coalition gateway talks to its nations and subgraphs and to no one else. Left to its defaults,
 * Apollo Gateway probes the cloud providers' metadata addresses when it is constructed and sends
 * metrics to Apollo every hour; a sovereign deployment must do neither, whatever its environment.
 *
 * Every TCP connection this process opens is recorded (the gateway runs in it; the nations are
 * processes of their own) from before the coalition starts until after it has answered a query.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCoalition, type TestCoalition } from '../helpers/coalition';

const connectedTo: string[] = [];
const connect = net.Socket.prototype.connect;
let world: TestCoalition;

beforeAll(async () => {
  delete process.env.APOLLO_TELEMETRY_DISABLED;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    connectedTo.push(destinationOf(args));
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
  world = await startTestCoalition({ nations: ['DEU', 'FRA'], seedSize: 20 });
}, 180_000);

afterAll(async () => {
  net.Socket.prototype.connect = connect;
  await world?.stop();
});

/** The host (or socket path) of a connect call, in any of its forms. */
function destinationOf(args: unknown[]): string {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; hostname?: string; path?: string | null };
    return options.path ?? options.hostname ?? options.host ?? 'localhost';
  }
  return typeof args[1] === 'string' ? args[1] : 'localhost';
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

describe('the gateway’s own traffic', () => {
  it('starting the coalition and answering a German analyst, the gateway’s process connects only to loopback addresses: no cloud metadata probe, no telemetry to Apollo', async () => {
    const token = await world.token({ nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
    const answer = await world.ask(token, '{ indicators(first: 5) { edges { node { id } } } }');
    expect(answer.data.indicators.edges.length).toBeGreaterThan(0);
    // Apollo's detectors fire when the gateway is constructed and answer within seconds at most.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(connectedTo.length, 'the recorder saw the gateway reach its nations').toBeGreaterThan(0);
    expect(connectedTo.filter((host) => !LOOPBACK.test(host) && !host.startsWith('/'))).toEqual([]);
  });
});
