/**
 * Signed rule files. A policy officer signs a nation's YAML rule file with that nation's policy key
 * (a compact JWS whose payload is the YAML text itself, byte for byte, so what was reviewed is what
 * was signed); the coalition's file is signed with the coalition's key. Anyone may carry a signed
 * file; only the trust store decides whose signature counts for which nation.
 */
import { CompactSign, compactVerify, decodeProtectedHeader, importJWK, type JWK, type CryptoKey } from 'jose';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRuleFile, RuleFileError } from './rule-files';
import type { RuleFile } from './rule-schema';

export const SIGNED_RULES_TYPE = 'sovgraph-rules+jws';
const COALITION = 'COALITION';

/** Each nation's (and the coalition's) public policy keys. Never a private key. */
export type PolicyTrustStore = Readonly<Record<string, readonly JWK[]>>;

export interface PolicyKey {
  /** The nation's (or the coalition's) private policy key, with its `kid` and `alg`. */
  privateJwk: JWK;
}

export interface SignOptions {
  /** Who signs: the officer's name or id, kept in the history. */
  signedBy: string;
  /** The file's name, for error messages (default: `<nation>.yaml`). */
  file?: string;
  /** When it was signed (default: now). */
  signedAt?: Date;
}

/** A signed rule file whose signature, nation and content checked out. */
export interface VerifiedRules {
  nation: string;
  version: number;
  signedBy: string;
  signedAt: string;
  /** The key that signed it. */
  kid: string;
  /** The YAML exactly as signed. */
  text: string;
  rules: RuleFile;
  /** The compact JWS, to pass on. */
  jws: string;
}

export type RefusalReason = 'unsigned' | 'malformed' | 'unknown-nation' | 'wrong-key' | 'tampered' | 'invalid-rules' | 'nation-mismatch' | 'coalition-releases' | 'rollback';

/** Why a signed rule file was not accepted. The message never repeats the file's content. */
export class PolicyRefusal extends Error {
  override readonly name = 'PolicyRefusal';
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly nation?: string,
  ) {
    super(message);
  }
}

/** Validates the YAML (the same schema and checks as an unsigned file), then signs it. */
export async function signRules(text: string, key: PolicyKey, options: SignOptions): Promise<string> {
  const alg = key.privateJwk.alg;
  const kid = key.privateJwk.kid;
  if (!alg || !kid) throw new Error('the policy key must name its "alg" and "kid"');
  const rules = parseRuleFile(text, options.file ?? 'rules.yaml');
  semanticRefusal(rules, options.file ?? `${rules.nation}.yaml`);
  const privateKey = (await importJWK(key.privateJwk, alg)) as CryptoKey;
  return new CompactSign(new TextEncoder().encode(text))
    .setProtectedHeader({
      alg,
      kid,
      typ: SIGNED_RULES_TYPE,
      nation: rules.nation,
      version: rules.version,
      signedBy: options.signedBy,
      signedAt: (options.signedAt ?? new Date()).toISOString(),
    })
    .sign(privateKey);
}

/**
 * Signs every `*.yaml` of a folder with its nation's key: how a deployment turns the rule files its
 * officers reviewed into the signed files its subgraphs and gateway accept. Nation → compact JWS.
 */
export async function signRuleFolder(dir: string, keys: Readonly<Record<string, PolicyKey>>, signedBy: string, only?: readonly string[]): Promise<Map<string, string>> {
  const signed = new Map<string, string>();
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    const nation = parseRuleFile(text, name).nation;
    if (only && !only.includes(nation)) continue;
    const key = keys[nation];
    if (!key) throw new Error(`${join(dir, name)}: no policy key for ${nation} to sign it with`);
    signed.set(nation, await signRules(text, key, { signedBy, file: name }));
  }
  return signed;
}

/**
 * Accepts a signed rule file only when: it is a JWS of our type, its nation has keys in the trust
 * store, one of them (by `kid`) verifies the signature, the YAML is a valid rule file of that same
 * nation and version, and — for the coalition — no rule releases anything.
 */
export async function verifySignedRules(signed: string, trust: PolicyTrustStore, options: { file?: string } = {}): Promise<VerifiedRules> {
  const header = headerOf(signed);
  const jws = signed.trim();
  const nation = header.nation;
  // Own keys only: a header naming `constructor` must not find Object's.
  const keys = Object.hasOwn(trust, nation) ? trust[nation] : undefined;
  if (!keys?.length) throw new PolicyRefusal('unknown-nation', `no policy key in the trust store for ${nation}`, nation);
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new PolicyRefusal('wrong-key', `signed with key "${header.kid}", which the trust store does not hold for ${nation}`, nation);
  let payload: Uint8Array;
  try {
    const publicKey = (await importJWK(jwk, header.alg)) as CryptoKey;
    ({ payload } = await compactVerify(jws, publicKey, { algorithms: [jwk.alg ?? header.alg] }));
  } catch {
    throw new PolicyRefusal('tampered', `the signature of ${nation}'s rules (key "${header.kid}") does not verify: the file was changed after signing, or the signature is not that key's`, nation);
  }
  const text = new TextDecoder().decode(payload);
  const file = options.file ?? `${nation}.yaml (signed)`;
  let rules: RuleFile;
  try {
    rules = parseRuleFile(text, file);
  } catch (error) {
    if (error instanceof RuleFileError) throw new PolicyRefusal('invalid-rules', error.message, nation);
    throw error;
  }
  if (rules.nation !== nation || rules.version !== header.version) {
    throw new PolicyRefusal('nation-mismatch', `the signed header says ${nation} version ${header.version}, the file says ${rules.nation} version ${rules.version}`, nation);
  }
  semanticRefusal(rules, file);
  return { nation, version: rules.version, signedBy: header.signedBy, signedAt: header.signedAt, kid: header.kid, text, rules, jws };
}

/** A publish request's body: the compact JWS itself, or JSON `{ "jws": "…" }` ('' for anything else). */
export function signedRulesOfBody(body: string): string {
  const text = body.trim();
  if (!text.startsWith('{')) return text;
  try {
    const parsed = JSON.parse(text) as { jws?: unknown };
    return typeof parsed.jws === 'string' ? parsed.jws : '';
  } catch {
    return '';
  }
}

/** The coalition may only restrict: a coalition file with an `allow` rule is refused outright. */
function semanticRefusal(rules: RuleFile, file: string): void {
  if (rules.nation !== COALITION) return;
  const releasing = rules.rules.filter((r) => r.effect === 'allow').map((r) => r.id);
  if (releasing.length) {
    throw new PolicyRefusal('coalition-releases', `${file}: the coalition may only restrict, but rule(s) ${releasing.join(', ')} allow`, COALITION);
  }
}

interface RulesHeader {
  alg: string;
  kid: string;
  nation: string;
  version: number;
  signedBy: string;
  signedAt: string;
}

function headerOf(jws: string): RulesHeader {
  if (typeof jws !== 'string' || !jws.trim()) throw new PolicyRefusal('unsigned', 'no signed rule file was given');
  const text = jws.trim();
  if (text.split('.').length !== 3) throw new PolicyRefusal('unsigned', 'this is not a signed rule file (a compact JWS has three dot-separated parts): sign it with `npm run -s policy -- sign`');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(text) as Record<string, unknown>;
  } catch {
    throw new PolicyRefusal('malformed', 'the signed rule file has an unreadable header');
  }
  const { alg, kid, typ, nation, version, signedBy, signedAt } = header;
  if (typ !== SIGNED_RULES_TYPE) throw new PolicyRefusal('malformed', `the JWS is of type ${JSON.stringify(typ)}, not ${SIGNED_RULES_TYPE}`);
  if (typeof alg !== 'string' || alg === 'none' || typeof kid !== 'string' || typeof nation !== 'string' || typeof version !== 'number' || typeof signedBy !== 'string' || typeof signedAt !== 'string') {
    throw new PolicyRefusal('malformed', 'the signed rule file header must hold alg, kid, nation, version, signedBy and signedAt');
  }
  return { alg, kid, nation, version, signedBy, signedAt };
}
