/**
 * An operator changes the gateway's limits, fair share and circuits in one settings file: what they
 * wrote is taken as written, and a mistake is named with its line before anything starts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGatewaySettings } from '../../gateway/demo/settings-file';
import { resolveLimits } from '../../gateway/limits';

const dir = mkdtempSync(join(tmpdir(), 'sovgraph-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('a deployment settings file', () => {
  it('a coalition that lowers its cost limit, turns introspection off and widens fair share gets exactly that', () => {
    const path = file('ok.yaml', 'limits:\n  maxCost: 100000\n  introspection: false\nfairShare:\n  perCaller: 8\ncircuit:\n  failuresToOpen: 5\nnationTimeoutMs: 2000\n');
    const settings = readGatewaySettings(path);
    expect(settings).toEqual({ limits: { maxCost: 100000, introspection: false }, fairShare: { perCaller: 8 }, circuit: { failuresToOpen: 5 }, nationTimeoutMs: 2000 });
    expect(resolveLimits(settings.limits)).toMatchObject({ maxCost: 100000, introspection: false, maxDepth: 12 });
  });

  it('a misspelt section is refused with its line, not silently ignored', () => {
    const path = file('typo.yaml', 'limits:\n  maxCost: 1000\nfairshare:\n  perCaller: 8\n');
    expect(() => readGatewaySettings(path)).toThrow(`${path}:3: unknown setting "fairshare"`);
  });

  it('a value of the wrong shape names the setting and the line', () => {
    expect(() => readGatewaySettings(file('shape.yaml', 'nationTimeoutMs: 2000\nlimits: 5\n'))).toThrow(/:2: "limits" must be a mapping/);
    expect(() => readGatewaySettings(file('timeout.yaml', 'nationTimeoutMs: soon\n'))).toThrow(/:1: "nationTimeoutMs" must be a positive integer \(got "soon"\)/);
  });

  it('a misspelt limit inside a section is refused by the gateway, naming it', () => {
    const settings = readGatewaySettings(file('limit.yaml', 'limits:\n  maxCosts: 5\n'));
    expect(() => resolveLimits(settings.limits)).toThrow(/maxCosts/);
  });

  it('broken YAML and a missing file say so', () => {
    expect(() => readGatewaySettings(file('broken.yaml', 'limits: [\n'))).toThrow(/broken\.yaml/);
    expect(() => readGatewaySettings(join(dir, 'absent.yaml'))).toThrow(/cannot read the gateway settings \(ENOENT\)/);
  });
});
