/**
 * Signed rule files and the rule store, as stories: who signs, who accepts, and every way a file is
 * refused — with the rules in force left exactly as they were and an alert saying why.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactSign, importJWK, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatePolicyKeys } from '../../gateway/demo/keys';
import {
  createRuleStore,
  DEFAULT_RULES_DIR,
  PolicyRefusal,
  RuleFileError,
  SIGNED_RULES_TYPE,
  signRuleFolder,
  signRules,
  verifySignedRules,
  type PolicyKey,
  type PolicyTrustStore,
  type RefusalReason,
  type VerifiedRules,
} from '../../policies';

const FRA_V1 = readFileSync(join(DEFAULT_RULES_DIR, 'FRA.yaml'), 'utf8');
const COALITION_V1 = readFileSync(join(DEFAULT_RULES_DIR, 'coalition.yaml'), 'utf8');
const withVersion = (text: string, version: number) => text.replace(/^version: \d+$/m, `version: ${version}`);
const FRA_V2 = `${withVersion(FRA_V1, 2)}  - id: descriptions-stay-in-france
    description: Indicator descriptions never leave France.
    match: { types: [Indicator], fields: [description] }
    when: { principal: { notNations: [FRA] } }
    effect: deny
`;

let keys: Record<string, PolicyKey>;
let trust: PolicyTrustStore;
/** Keys of the same holders that the trust store does not hold. */
let strangers: Record<string, PolicyKey>;

beforeAll(async () => {
  ({ keys, trust } = await generatePolicyKeys(['FRA', 'DEU', 'COALITION']));
  ({ keys: strangers } = await generatePolicyKeys(['FRA']));
});

/** Signs any text with any header, as someone bypassing signRules' own checks would. */
async function signRaw(text: string, jwk: JWK, header: Record<string, unknown>): Promise<string> {
  const key = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
  return new CompactSign(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid, typ: SIGNED_RULES_TYPE, signedBy: 'someone', signedAt: new Date().toISOString(), ...header })
    .sign(key);
}

async function refusalOf(work: Promise<unknown>): Promise<PolicyRefusal> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyRefusal);
    return error as PolicyRefusal;
  }
  throw new Error('expected a refusal, but the file was accepted');
}

const sign = (text: string, holder = 'FRA', signedBy = 'Officer Dupont (ANSSI)') => signRules(text, keys[holder]!, { signedBy });

describe('signing and verifying a rule file', () => {
  it("a French officer signs France's rules and any holder of the trust store accepts them, with signer and version", async () => {
    const signedAt = new Date('2026-11-01T09:00:00Z');
    const jws = await signRules(FRA_V1, keys.FRA!, { signedBy: 'Officer Dupont (ANSSI)', signedAt });
    const verified = await verifySignedRules(jws, trust);
    expect(verified).toMatchObject({ nation: 'FRA', version: 1, signedBy: 'Officer Dupont (ANSSI)', signedAt: signedAt.toISOString(), kid: keys.FRA!.privateJwk.kid, jws });
    // What was reviewed is what was signed: the YAML byte for byte.
    expect(verified.text).toBe(FRA_V1);
    expect(verified.rules.rules.map((r) => r.id)).toContain('sources-stay-in-france');
    // The trust store holds public halves only.
    expect(JSON.stringify(trust)).not.toContain(`"d":`);
  });

  it("a deployment signs the whole rule folder, each file with its own nation's key, and every file verifies", async () => {
    const all = await generatePolicyKeys(['USA', 'GBR', 'FRA', 'DEU', 'EST', 'COALITION']);
    const signed = await signRuleFolder(DEFAULT_RULES_DIR, all.keys, 'the deployment');
    expect([...signed.keys()].sort()).toEqual(['COALITION', 'DEU', 'EST', 'FRA', 'GBR', 'USA']);
    for (const [nation, jws] of signed) {
      const verified = await verifySignedRules(jws, all.trust);
      expect(verified).toMatchObject({ nation, version: 1, signedBy: 'the deployment' });
    }
  });

  it('a plain YAML file that was never signed is refused as unsigned', async () => {
    const refusal = await refusalOf(verifySignedRules(FRA_V1, trust));
    expect(refusal.reason).toBe<RefusalReason>('unsigned');
    expect((await refusalOf(verifySignedRules('', trust))).reason).toBe('unsigned');
  });

  it('a signed file whose payload had one byte changed after signing is refused as tampered', async () => {
    const jws = await sign(FRA_V1);
    const [header, payload, signature] = jws.split('.');
    const bytes = Buffer.from(payload!, 'base64url');
    const at = FRA_V1.indexOf('effect: deny');
    expect(bytes.subarray(at, at + 12).toString()).toBe('effect: deny');
    // "deny" → "ceny": the schema would refuse it too, but the signature is checked first.
    bytes[at + 8] = 'c'.charCodeAt(0);
    const tampered = [header, bytes.toString('base64url'), signature].join('.');
    expect(tampered).not.toBe(jws);
    const refusal = await refusalOf(verifySignedRules(tampered, trust));
    expect(refusal.reason).toBe<RefusalReason>('tampered');
    expect(refusal.nation).toBe('FRA');
    // The message never repeats the file's content.
    expect(refusal.message).not.toContain('ceny');
  });

  it('France\'s rules signed with a French-looking key that is not in the trust store are refused as signed with the wrong key', async () => {
    const jws = await signRules(FRA_V1, strangers.FRA!, { signedBy: 'an impostor' });
    const refusal = await refusalOf(verifySignedRules(jws, trust));
    expect(refusal.reason).toBe<RefusalReason>('wrong-key');
    expect(refusal.nation).toBe('FRA');
  });

  it("France's rules signed with a stranger's key that borrows France's kid are refused: the signature is not that key's", async () => {
    const jws = await signRaw(FRA_V1, { ...strangers.FRA!.privateJwk, kid: keys.FRA!.privateJwk.kid }, { nation: 'FRA', version: 1 });
    const refusal = await refusalOf(verifySignedRules(jws, trust));
    expect(refusal.reason).toBe<RefusalReason>('tampered');
  });

  it("a German officer signing a file that says nation FRA is refused: Germany's key does not count for France", async () => {
    const jws = await sign(FRA_V1, 'DEU', 'Offizier Müller (BSI)');
    const refusal = await refusalOf(verifySignedRules(jws, trust));
    expect(refusal.reason).toBe<RefusalReason>('wrong-key');
    expect(refusal.nation).toBe('FRA');
  });

  it('a rule file of a nation the trust store does not know is refused', async () => {
    const jws = await signRaw(FRA_V1.replace('nation: FRA', 'nation: ITA'), keys.FRA!.privateJwk, { nation: 'ITA', version: 1 });
    expect((await refusalOf(verifySignedRules(jws, trust))).reason).toBe<RefusalReason>('unknown-nation');
  });

  it('a file whose signed header names another version than its YAML is refused as a mismatch', async () => {
    const jws = await signRaw(FRA_V1, keys.FRA!.privateJwk, { nation: 'FRA', version: 2 });
    const refusal = await refusalOf(verifySignedRules(jws, trust));
    expect(refusal.reason).toBe<RefusalReason>('nation-mismatch');
    expect(refusal.message).toContain('version 2');
  });

  it("a file whose signed header says FRA but whose YAML is Germany's, signed with France's key, is refused as a mismatch", async () => {
    const deuText = FRA_V1.replace('nation: FRA', 'nation: DEU');
    const jws = await signRaw(deuText, keys.FRA!.privateJwk, { nation: 'FRA', version: 1 });
    const refusal = await refusalOf(verifySignedRules(jws, trust));
    expect(refusal.reason).toBe<RefusalReason>('nation-mismatch');
    expect(refusal.message).toContain('DEU');
  });

  it('an officer cannot sign invalid rules, and invalid rules signed by other means are refused with the line and the rule named', async () => {
    const invalid = FRA_V1.replace('    effect: redact\n', '    effect: blur\n');
    const line = invalid.split('\n').findIndex((l) => l.includes('effect: blur')) + 1;
    await expect(sign(invalid)).rejects.toBeInstanceOf(RuleFileError);
    const jws = await signRaw(invalid, keys.FRA!.privateJwk, { nation: 'FRA', version: 1 });
    const refusal = await refusalOf(verifySignedRules(jws, trust));
    expect(refusal.reason).toBe<RefusalReason>('invalid-rules');
    expect(refusal.message).toContain(`:${line} (rule victims-below-secret)`);
    expect(refusal.message).toContain('effect');
  });

  it('a coalition file with an allow rule is refused: the coalition may only restrict', async () => {
    const releasing = `${COALITION_V1}  - id: release-everything
    description: Everything to everyone.
    match: { types: ["*"], fields: ["*"] }
    effect: allow
`;
    // Signing it is refused already…
    expect((await refusalOf(sign(releasing, 'COALITION'))).reason).toBe<RefusalReason>('coalition-releases');
    // …and so is a file signed with the coalition's key by other means.
    const jws = await signRaw(releasing, keys.COALITION!.privateJwk, { nation: 'COALITION', version: 1 });
    const refusal = await refusalOf(verifySignedRules(jws, trust));
    expect(refusal.reason).toBe<RefusalReason>('coalition-releases');
    expect(refusal.message).toContain('release-everything');
    // The restricting coalition file itself is fine.
    expect((await verifySignedRules(await sign(COALITION_V1, 'COALITION'), trust)).nation).toBe('COALITION');
  });
});

describe('the rule store', () => {
  async function storeWithFraV1(options: { keep?: (rules: VerifiedRules) => Promise<void> } = {}) {
    const store = createRuleStore({ trust, keep: options.keep });
    const first = await store.offer(await sign(FRA_V1), 'the test');
    expect(first.accepted).toBe(true);
    const before = store.inForce('FRA')!;
    expect(before.version).toBe(1);
    return { store, before };
  }

  /** After a refusal: the very same rules in force, and the newest alert naming the reason. */
  function expectUnchanged(store: ReturnType<typeof createRuleStore>, before: VerifiedRules, reason: RefusalReason, alertsBefore: number) {
    expect(store.inForce('FRA')).toBe(before);
    expect(store.inForce('FRA')!.version).toBe(before.version);
    expect(store.history('FRA').map((h) => h.version)).toEqual([before.version]);
    expect(store.alerts()).toHaveLength(alertsBefore + 1);
    expect(store.alerts()[0]).toMatchObject({ reason, source: 'a test publication' });
  }

  it("France's officer publishes version 2 and it replaces version 1 in force; the history lists both with who signed them", async () => {
    let changes = 0;
    const store = createRuleStore({ trust, onChange: () => changes++ });
    await store.offer(await sign(FRA_V1, 'FRA', 'Officer Dupont'), 'the test');
    const result = await store.offer(await sign(FRA_V2, 'FRA', 'Officer Martin'), 'the test');
    expect(result.accepted).toBe(true);
    expect(store.inForce('FRA')).toMatchObject({ version: 2, signedBy: 'Officer Martin' });
    expect(store.history('FRA').map((h) => [h.version, h.signedBy])).toEqual([
      [1, 'Officer Dupont'],
      [2, 'Officer Martin'],
    ]);
    expect(changes).toBe(2);
    expect(store.alerts()).toEqual([]);
  });

  it('offering the very file in force again changes nothing and raises no alert', async () => {
    const store = createRuleStore({ trust });
    const jws = await sign(FRA_V1);
    await store.offer(jws, 'the test');
    const again = await store.offer(jws, 'the test');
    expect(again).toMatchObject({ accepted: true, unchanged: true });
    expect(store.alerts()).toEqual([]);
  });

  const refusals: Array<[string, RefusalReason, () => Promise<string>]> = [
    ['an unsigned YAML file', 'unsigned', async () => FRA_V2],
    ['a file signed with a key the trust store does not hold', 'wrong-key', () => signRules(FRA_V2, strangers.FRA!, { signedBy: 'an impostor' })],
    ["a FRA file signed with Germany's key", 'wrong-key', () => sign(FRA_V2, 'DEU')],
    [
      'a file tampered with after signing',
      'tampered',
      async () => {
        const [h, p, s] = (await sign(FRA_V2)).split('.');
        const bytes = Buffer.from(p!, 'base64url');
        bytes[bytes.length - 2] ^= 1;
        return [h, bytes.toString('base64url'), s].join('.');
      },
    ],
    ['a file whose header says version 3 and YAML version 2', 'nation-mismatch', () => signRaw(FRA_V2, keys.FRA!.privateJwk, { nation: 'FRA', version: 3 })],
    ['invalid rules', 'invalid-rules', () => signRaw(FRA_V2.replace('effect: deny\n', 'effect: nope\n'), keys.FRA!.privateJwk, { nation: 'FRA', version: 2 })],
    ['other rules under the version in force', 'rollback', () => sign(FRA_V1.replace('effect: deny\n', 'effect: redact\n'), 'FRA', 'Officer Martin')],
  ];
  for (const [what, reason, make] of refusals) {
    it(`${what} is refused (${reason}): the rules in force are the same object, same version, and an alert names the reason`, async () => {
      const { store, before } = await storeWithFraV1();
      const result = await store.offer(await make(), 'a test publication');
      expect(result.accepted).toBe(false);
      if (!result.accepted) expect(result.refusal.reason).toBe(reason);
      expectUnchanged(store, before, reason, 0);
    });
  }

  it('the rules in force signed again under the same version (a deployment re-signing its start-up files) change nothing and raise no alert', async () => {
    const { store, before } = await storeWithFraV1();
    const result = await store.offer(await sign(FRA_V1, 'FRA', 'the demo launcher, restarted'), 'a test publication');
    expect(result).toMatchObject({ accepted: true, unchanged: true });
    expect(store.inForce('FRA')).toBe(before);
    expect(store.history('FRA')).toHaveLength(1);
    expect(store.alerts()).toEqual([]);
  });

  it('an older version than the one in force is refused as a rollback, and the newer one stays', async () => {
    const store = createRuleStore({ trust });
    await store.offer(await sign(FRA_V2), 'the test');
    const v2 = store.inForce('FRA')!;
    const result = await store.offer(await sign(FRA_V1), 'a test publication');
    expect(result).toMatchObject({ accepted: false, refusal: { reason: 'rollback' } });
    expect(store.inForce('FRA')).toBe(v2);
    expect(store.alerts()[0]).toMatchObject({ reason: 'rollback', nation: 'FRA' });
  });

  it('a coalition file that releases is refused by the store, and the coalition rules in force stay', async () => {
    const store = createRuleStore({ trust });
    await store.offer(await sign(COALITION_V1, 'COALITION'), 'the test');
    const before = store.inForce('COALITION')!;
    const releasing = `${withVersion(COALITION_V1, 2)}  - id: release-everything
    description: Everything to everyone.
    match: { types: ["*"], fields: ["*"] }
    effect: allow
`;
    const result = await store.offer(await signRaw(releasing, keys.COALITION!.privateJwk, { nation: 'COALITION', version: 2 }), 'a test publication');
    expect(result).toMatchObject({ accepted: false, refusal: { reason: 'coalition-releases' } });
    expect(store.inForce('COALITION')).toBe(before);
    expect(store.alerts()[0]).toMatchObject({ reason: 'coalition-releases', nation: 'COALITION' });
  });

  it("a holder that takes only its own nation's files refuses another nation's, validly signed", async () => {
    const store = createRuleStore({ trust, accepts: (n) => n === 'DEU' });
    const result = await store.offer(await sign(FRA_V1), 'a test publication');
    expect(result).toMatchObject({ accepted: false, refusal: { reason: 'nation-mismatch' } });
    expect(store.inForce('FRA')).toBeUndefined();
  });

  it('when keeping a new version fails (the silo is down), it is refused and the rules in force stay unchanged', async () => {
    let failing = false;
    const { store, before } = await storeWithFraV1({
      keep: async () => {
        if (failing) throw new Error('the silo is unreachable');
      },
    });
    failing = true;
    const result = await store.offer(await sign(FRA_V2), 'a test publication');
    expect(result.accepted).toBe(false);
    expect(store.inForce('FRA')).toBe(before);
    expect(store.history('FRA').map((h) => h.version)).toEqual([1]);
    expect(store.alerts()[0]!.message).toContain('the silo is unreachable');
    // Once the silo is back, the same file goes in.
    failing = false;
    expect((await store.offer(await sign(FRA_V2), 'a test publication')).accepted).toBe(true);
    expect(store.inForce('FRA')!.version).toBe(2);
  });

  it('two officers publishing different version-2 files at the same moment: exactly one is accepted, the other is a rollback', async () => {
    const kept: string[] = [];
    const { store } = await storeWithFraV1({
      keep: async (rules) => {
        // A slow silo: the second offer would pass the version check if offers were not serialised.
        await new Promise((resolve) => setTimeout(resolve, 30));
        kept.push(rules.signedBy);
      },
    });
    kept.length = 0;
    const [a, b] = await Promise.all([sign(FRA_V2, 'FRA', 'Officer Martin'), sign(FRA_V2.replace(/effect: deny\n$/, 'effect: redact\n'), 'FRA', 'Officer Bernard')]);
    const results = await Promise.all([store.offer(a, 'a test publication'), store.offer(b, 'a test publication')]);
    expect(results.filter((r) => r.accepted)).toHaveLength(1);
    const refused = results.find((r) => !r.accepted);
    expect(refused).toMatchObject({ accepted: false, refusal: { reason: 'rollback' } });
    expect(kept).toHaveLength(1);
    expect(store.history('FRA').map((h) => h.version)).toEqual([1, 2]);
    expect(store.inForce('FRA')!.signedBy).toBe(kept[0]);
  });
});

describe('a header naming a nation the trust store does not hold', () => {
  it('a file whose header names "constructor" as its nation is refused as an unknown nation, not with a TypeError', async () => {
    const jws = await signRaw(FRA_V1, keys.FRA!.privateJwk, { nation: 'constructor', version: 1 });
    const refusal = await refusalOf(verifySignedRules(jws, trust));
    expect(refusal.reason).toBe<RefusalReason>('unknown-nation');
    const store = createRuleStore({ trust });
    expect(await store.offer(jws, 'a test publication')).toMatchObject({ accepted: false, refusal: { reason: 'unknown-nation' } });
  });
});
