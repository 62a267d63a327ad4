/**
 * The policy officers' command line, run as a real child process on temp files: validate (errors
 * naming file, line and rule; warnings for unmatchable and overridden rules), sign and verify with
 * fresh keys, a tampered file refused, diff between two versions of FRA's rules, test cases, usage
 * mistakes, and publish/history against a running FRA subgraph.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRules } from '../../policies';
import { startNationSubgraph, type RunningNationSubgraph } from '../../subgraphs';
import { gatewayKeys } from '../integration/nation-fixtures';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FRA_RULES = join(ROOT, 'policies/rules/FRA.yaml');
const COALITION_RULES = join(ROOT, 'policies/rules/coalition.yaml');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function policy(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'policies/cli/policy.ts'), ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
const at = (name: string) => join(dir, name);

/** A fresh Ed25519 policy key pair for `holder`: private key file, and the trust store entry. */
async function policyKey(holder: string) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = `policy-${holder}-test`;
  return { privateJwk: { ...(await exportJWK(privateKey)), alg: 'EdDSA', kid }, publicJwk: { ...(await exportJWK(publicKey)), alg: 'EdDSA', kid, use: 'sig' } };
}

let fra: Awaited<ReturnType<typeof policyKey>>;
let coalition: Awaited<ReturnType<typeof policyKey>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sovgraph-policy-cli-'));
  fra = await policyKey('FRA');
  coalition = await policyKey('COALITION');
  writeFileSync(at('FRA.private.jwk.json'), JSON.stringify(fra.privateJwk));
  writeFileSync(at('policy-trust.json'), JSON.stringify({ FRA: [fra.publicJwk], COALITION: [coalition.publicJwk] }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LINT = `nation: FRA
version: 2
rules:
  - id: release
    description: What passes the marking baseline is released.
    match: { types: ["*"], fields: ["*"] }
    effect: allow
  - id: indicators-stay-home
    description: Nothing of an indicator leaves France.
    match: { types: [Indicator], fields: ["*"] }
    when: { principal: { notNations: [FRA] } }
    effect: deny
  - id: redact-sources
    description: Overridden by indicators-stay-home, always.
    match: { types: [Indicator], fields: [source] }
    when: { principal: { notNations: [FRA], clearanceBelow: SECRET } }
    effect: redact
  - id: malware-names
    description: No such type in the contract.
    match: { types: [Malware], fields: [name] }
    effect: deny
  - id: nobody
    description: Contradicting nations.
    match: { types: [Incident], fields: [victim] }
    when: { principal: { nations: [USA], notNations: [USA] } }
    effect: deny
  - id: below-bottom
    description: No clearance is below UNCLASSIFIED.
    match: { types: [Incident], fields: [victim] }
    when: { principal: { clearanceBelow: UNCLASSIFIED } }
    effect: redact
`;

const BAD = `nation: FRA
version: 2
rules:
  - id: release
    description: What passes the marking baseline is released.
    match: { types: ["*"], fields: ["*"] }
    effect: allowed
`;

describe.concurrent('npm run policy', () => {
  it('validate names file:line (rule) for errors and exits 1', async () => {
    writeFileSync(at('bad.yaml'), BAD);
    const run = await policy('validate', at('bad.yaml'));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${at('bad.yaml')}:7 (rule release): error: rules.0.effect`);
  });

  it('validate warns about a shadowed rule and unmatchable rules, and exits 0', async () => {
    writeFileSync(at('lint.yaml'), LINT);
    const run = await policy('validate', at('lint.yaml'), FRA_RULES, COALITION_RULES);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`lint\\.yaml:13 \\(rule redact-sources\\): warning: never decides anything: rule indicators-stay-home`));
    expect(run.stdout).toMatch(/lint\.yaml:18 \(rule malware-names\): warning: can never match: the contract has no type Malware/);
    expect(run.stdout).toMatch(/lint\.yaml:22 \(rule nobody\): warning: can never match: nations USA are all excluded by notNations/);
    expect(run.stdout).toMatch(/lint\.yaml:27 \(rule below-bottom\): warning: can never match: no clearance is below UNCLASSIFIED/);
    // The shipped files are clean; the rule that releases everything is not "overridden".
    expect(run.stdout).not.toMatch(/FRA\.yaml|coalition\.yaml|rule release\)/);
    expect(run.stdout).toContain('3 file(s): 0 error(s), 4 warning(s)');
  });

  it('signs, then verifies the signed file; a tampered file is refused', async () => {
    writeFileSync(at('FRA.yaml'), readFileSync(FRA_RULES, 'utf8'));
    const signed = await policy('sign', at('FRA.yaml'), '--key', at('FRA.private.jwk.json'), '--signed-by', 'officer@anssi');
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toContain(at('FRA.jws'));
    const verified = await policy('verify', at('FRA.jws'), '--trust', at('policy-trust.json'));
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/verified: FRA version 1, signed by officer@anssi at \d{4}-\d\d-\d\dT/);

    const [header, payload, signature] = readFileSync(at('FRA.jws'), 'utf8').trim().split('.');
    const changed = Buffer.from(payload!, 'base64url').toString('utf8').replace('effect: deny', 'effect: allow');
    writeFileSync(at('tampered.jws'), [header, Buffer.from(changed).toString('base64url'), signature].join('.'));
    const tampered = await policy('verify', at('tampered.jws'), '--trust', at('policy-trust.json'));
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('refused (tampered)');
  });

  it('refuses to sign a file with errors', async () => {
    writeFileSync(at('bad-to-sign.yaml'), BAD);
    const refused = await policy('sign', at('bad-to-sign.yaml'), '--key', at('FRA.private.jwk.json'), '--signed-by', 'officer@anssi');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${at('bad-to-sign.yaml')}:7 (rule release)`);
  });

  it('diff prints the decisions one changed rule changes, and nothing for identical files', async () => {
    const changed = readFileSync(FRA_RULES, 'utf8').replace(/(id: victims-below-secret[\s\S]*?effect:) redact/, '$1 deny');
    writeFileSync(at('FRA-next.yaml'), changed);
    const [run, same] = await Promise.all([policy('diff', FRA_RULES, at('FRA-next.yaml')), policy('diff', FRA_RULES, FRA_RULES)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Incident\.victim$/m);
    expect(run.stdout).toMatch(/USA CONFIDENTIAL analyst \[NATO,FVEY\]: redact \[FRA\/victims-below-secret\] -> deny \[FRA\/victims-below-secret\] {3}on .*FRA NATO GREEN UNCLASSIFIED/);
    // Only that field, and never for a principal cleared SECRET or above.
    const fields = run.stdout.split('\n').filter((l) => /^\S+\.\S+$/.test(l));
    expect(fields).toEqual(['Incident.victim']);
    expect(run.stdout).not.toMatch(/ (SECRET|TOP_SECRET) (no-role|analyst)/);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('no decision changes');
  });

  it('test passes the FRA example and explains a failing case', async () => {
    writeFileSync(
      at('failing.policy-test.yaml'),
      `rules: [${JSON.stringify(FRA_RULES)}]
cases:
  - name: wrongly expects sources to leave France
    principal: { nation: USA, clearance: SECRET, roles: [analyst] }
    object: { type: Indicator, owner: FRA, marking: { classification: UNCLASSIFIED, tlp: GREEN, releasableTo: [NATO] } }
    expect: { source: allow, id: allow }
`,
    );
    const [ok, failing] = await Promise.all([policy('test', join(ROOT, 'policies/tests/FRA.policy-test.yaml')), policy('test', at('failing.policy-test.yaml'))]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/\d+ passed, 0 failed/);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('Indicator.source: expected allow, got deny; because FRA/sources-stay-in-france');
    expect(failing.stdout).toContain('0 passed, 1 failed');
  });

  it('usage mistakes exit 2 with a message', async () => {
    const runs = await Promise.all([
      policy(),
      policy('frobnicate'),
      policy('sign', FRA_RULES),
      policy('diff', FRA_RULES, COALITION_RULES, '--nope'),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(2);
    expect(runs[0]!.stderr).toContain('no verb given');
    expect(runs[1]!.stderr).toContain('unknown verb "frobnicate"');
    expect(runs[2]!.stderr).toContain('sign needs --key');
    expect(runs[3]!.stderr).toContain("Unknown option '--nope'");
    const help = await policy('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: npm run -s policy -- <verb>');
  });
});

describe('publish and history against a running FRA subgraph', () => {
  let subgraph: RunningNationSubgraph;
  let base: string;

  beforeAll(async () => {
    const trust = { FRA: [fra.publicJwk], COALITION: [coalition.publicJwk] };
    const signedRules = [
      await signRules(readFileSync(FRA_RULES, 'utf8'), { privateJwk: fra.privateJwk }, { signedBy: 'bootstrap@anssi' }),
      await signRules(readFileSync(COALITION_RULES, 'utf8'), { privateJwk: coalition.privateJwk }, { signedBy: 'bootstrap@coalition' }),
    ];
    subgraph = await startNationSubgraph({ nation: 'FRA', port: 0, gatewayPublicJwk: (await gatewayKeys()).publicJwk, policyTrust: trust, signedRules });
    base = subgraph.url.replace(/\/graphql$/, '');
  });

  afterAll(async () => {
    await subgraph?.stop();
  });

  it('publishes a newer version, refuses a rollback, and lists the history', async () => {
    const v2 = readFileSync(FRA_RULES, 'utf8').replace('version: 1', 'version: 2');
    writeFileSync(at('v2.jws'), await signRules(v2, { privateJwk: fra.privateJwk }, { signedBy: 'officer@anssi' }));
    const published = await policy('publish', at('v2.jws'), '--to', base);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toContain('accepted: FRA version 2, signed by officer@anssi');

    writeFileSync(at('v1.jws'), await signRules(readFileSync(FRA_RULES, 'utf8'), { privateJwk: fra.privateJwk }, { signedBy: 'officer@anssi' }));
    const rollback = await policy('publish', at('v1.jws'), '--to', base);
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toMatch(/refused by .*\/policy \(409, rollback\)/);

    const history = await policy('history', '--from', base);
    expect(history.code, history.stderr).toBe(0);
    const fraLines = history.stdout.split('\n').filter((l) => l.startsWith('FRA '));
    expect(fraLines).toHaveLength(2);
    expect(fraLines[0]).toMatch(/^FRA version 1 {2}signed by bootstrap@anssi at \S+ {2}accepted \S+/);
    expect(fraLines[1]).toMatch(/^FRA version 2 {2}signed by officer@anssi/);
  });

  it('goes back to version 1 by re-publishing it, signed again, as version 3: the rules of 1, in force as 3', async () => {
    const republished = await policy('republish', '--from', base, '--version', '1', '--key', at('FRA.private.jwk.json'), '--signed-by', 'officer@anssi');
    expect(republished.code, republished.stderr).toBe(0);
    expect(republished.stdout).toContain('accepted: FRA version 3, the rules of version 1, signed by officer@anssi');
    const inForce = subgraph.policy.inForce('FRA')!;
    expect(inForce.version).toBe(3);
    expect(inForce.text).toBe(readFileSync(FRA_RULES, 'utf8').replace('version: 1', 'version: 3'));

    const missing = await policy('republish', '--from', base, '--version', '9', '--key', at('FRA.private.jwk.json'), '--signed-by', 'officer@anssi');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('FRA never accepted a version 9 (it has 1, 2, 3)');
  });
});
