/**
 * The policy officers' command line: check, sign, verify, compare, test and publish rule files.
 *
 *   npm run -s policy -- <verb> …   (see USAGE below)
 *
 * Exit status: 0 done, 1 a finding or a refusal (errors, a bad signature, a failed test case, a
 * refused publication), 2 a usage mistake.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import { parse as parseYaml } from 'yaml';
import { diffRuleFiles, formatDiff, formatWarning, lintRuleFile, ruleLines } from '../analysis';
import { createPolicyEngine, type ObjectFacts } from '../engine';
import { CLASSIFICATIONS, isClassification, type Marking } from '../markings';
import type { Principal } from '../principal';
import { DEFAULT_RULES_DIR, loadRuleFolder, parseRuleFile, RuleFileError } from '../rule-files';
import { EFFECTS, type RuleFile } from '../rule-schema';
import { PolicyRefusal, signRuleFolder, signRules, verifySignedRules, type PolicyTrustStore } from '../signed-rules';

const USAGE = `usage: npm run -s policy -- <verb> [arguments]

  validate <file.yaml…>
      schema and semantic errors (file:line (rule id): message) and warnings: rules that can never
      match (a type or field the contract lacks, contradicting conditions) and rules another rule
      of the same file always overrides. Exit 1 on errors; warnings alone exit 0.
  sign <file.yaml> --key <private.jwk.json> --signed-by <name> [--out <file.jws>]
      validate, then write the compact JWS (default <file>.jws).
  verify <file.jws> --trust <policy-trust.json>
      check the signature against the trust store: nation, version, signer, time; or the refusal.
  diff <old.yaml|.jws> <new.yaml|.jws> [--rules <dir>] [--trust <policy-trust.json>]
      the decisions that change, per (type, field, principal class), with old -> new effect and
      the deciding rules. The other files in force come from --rules (default policies/rules).
      A .jws is verified when --trust is given, else only read.
  test <policy-test.yaml…> [--rules <dir>]
      run test cases (principal, object facts, expected effect per field) against the rules.
  publish <file.jws> --to <nation subgraph base URL>
      POST the signed file to <url>/policy: the accepted version, or the refusal (exit 1).
  history --from <nation subgraph base URL>
      the versions the nation accepted: version, signer, signedAt, acceptedAt.
  republish --from <nation subgraph base URL> --version <N> --key <private.jwk.json> --signed-by <name>
      take version N from the nation's history, sign it again as a new version (the highest + 1)
      and publish it: how an officer goes back to earlier rules without a rollback.
  sign-folder <rules-dir> --keys-dir <dir> --signed-by <name> --out-dir <dir> [--only FRA,…] [--create-keys]
      sign every rule file of a folder with its holder's key (<keys-dir>/<NATION>.private.jwk.json)
      into <out-dir>/<NATION>.jws; --create-keys first makes the Ed25519 key pairs that are missing
      (and <keys-dir>/<NATION>.public.jwk.json for the trust store). How a deployment signs its
      start-up rules in a process of its own, so that no gateway ever holds a private policy key.
  simulate --gateway <gateway base URL> --token <officer token> --as <NATION:CLEARANCE[:roles[:communities]]>
           (--query <GraphQL> | --query-file <file>) [--draft <file.yaml>]
      run a query as that partner against your own nation, through the running coalition, and list
      what is released, redacted or generalised, and withheld (with the reason). Roles and
      communities are comma-separated, e.g. --as USA:SECRET:analyst:NATO,FVEY.

  The demo's officers' keys: .data/keys/policy/<NATION>.private.jwk.json; trust store:
  .data/keys/policy-trust.json (made by \`npm start\`).

exit status: 0 done, 1 a finding or refusal, 2 a usage mistake`;

class UsageError extends Error {}
/** A finding the officer must act on: printed, exit 1. */
class Finding extends Error {}

const OPTIONS = {
  key: { type: 'string' },
  'signed-by': { type: 'string' },
  out: { type: 'string' },
  trust: { type: 'string' },
  rules: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  version: { type: 'string' },
  gateway: { type: 'string' },
  token: { type: 'string' },
  as: { type: 'string' },
  query: { type: 'string' },
  'query-file': { type: 'string' },
  draft: { type: 'string' },
  'keys-dir': { type: 'string' },
  'out-dir': { type: 'string' },
  only: { type: 'string' },
  'create-keys': { type: 'boolean' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const VERBS: Record<string, { args: [number, number]; options: Array<keyof typeof OPTIONS>; run: (args: string[], values: Values) => Promise<number> }> = {
  validate: { args: [1, Infinity], options: [], run: validate },
  sign: { args: [1, 1], options: ['key', 'signed-by', 'out'], run: sign },
  verify: { args: [1, 1], options: ['trust'], run: verify },
  diff: { args: [2, 2], options: ['rules', 'trust'], run: diff },
  test: { args: [1, Infinity], options: ['rules'], run: test },
  publish: { args: [1, 1], options: ['to'], run: publish },
  history: { args: [0, 0], options: ['from'], run: history },
  republish: { args: [0, 0], options: ['from', 'version', 'key', 'signed-by'], run: republish },
  simulate: { args: [0, 0], options: ['gateway', 'token', 'as', 'query', 'query-file', 'draft'], run: simulate },
  'sign-folder': { args: [1, 1], options: ['keys-dir', 'signed-by', 'out-dir', 'only', 'create-keys'], run: signFolder },
};

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') {
    console.log(USAGE);
    return 0;
  }
  const [verb, ...args] = positionals;
  if (!verb) throw new UsageError('no verb given');
  const spec = VERBS[verb];
  if (!spec) throw new UsageError(`unknown verb "${verb}" (expected one of ${Object.keys(VERBS).join(', ')})`);
  for (const name of Object.keys(values) as Array<keyof typeof OPTIONS>) {
    if (name !== 'help' && values[name] !== undefined && !spec.options.includes(name)) throw new UsageError(`${verb} takes no --${name}`);
  }
  if (args.length < spec.args[0]) throw new UsageError(`${verb} needs ${spec.args[0] === spec.args[1] ? spec.args[0] : `at least ${spec.args[0]}`} file argument(s)`);
  if (args.length > spec.args[1]) throw new UsageError(`${verb} takes ${spec.args[1]} file argument(s), got ${args.length}: ${args.join(' ')}`);
  return spec.run(args, values);
}

function need(values: Values, name: keyof typeof OPTIONS, verb: string): string {
  const value = values[name];
  if (typeof value !== 'string' || !value) throw new UsageError(`${verb} needs --${name}`);
  return value;
}

function readInput(path: string): string {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file`);
  return readFileSync(path, 'utf8');
}

function readJson<T>(path: string, what: string): T {
  const text = readInput(path);
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Finding(`${path}: not a JSON ${what}: ${(error as Error).message}`);
  }
}

/** The contract's types and fields, loaded only by the verbs that decide (it pulls in GraphQL and Apollo). */
async function contractSchema(): Promise<Record<string, string[]>> {
  const { policySchemaOf } = await import('../../subgraphs/kit/schema');
  return policySchemaOf();
}

// ---------------------------------------------------------------------------------------------------

async function validate(files: string[]): Promise<number> {
  let errors = 0;
  let warnings = 0;
  let schema: Record<string, string[]> | undefined;
  for (const path of files) {
    const text = readInput(path);
    let file: RuleFile;
    try {
      file = parseRuleFile(text, path);
    } catch (error) {
      if (!(error instanceof RuleFileError)) throw error;
      for (const issue of error.issues) console.log(`${issue.file}:${issue.line}${issue.rule ? ` (rule ${issue.rule})` : ''}: error: ${issue.message}`);
      errors += error.issues.length;
      continue;
    }
    if (file.nation === 'COALITION') {
      const releasing = file.rules.filter((r) => r.effect === 'allow');
      const lines = ruleLines(text);
      for (const r of releasing) console.log(`${path}:${lines[file.rules.indexOf(r)] ?? 1} (rule ${r.id}): error: the coalition may only restrict, and this rule allows`);
      errors += releasing.length;
    }
    const found = lintRuleFile(file, text, path, (schema ??= await contractSchema()));
    for (const w of found) console.log(formatWarning(w));
    warnings += found.length;
  }
  console.log(`${files.length} file(s): ${errors} error(s), ${warnings} warning(s)`);
  return errors ? 1 : 0;
}

async function sign([path]: string[], values: Values): Promise<number> {
  const keyPath = need(values, 'key', 'sign');
  const signedBy = need(values, 'signed-by', 'sign');
  const text = readInput(path!);
  const privateJwk = readJson<JWK>(keyPath, 'key');
  if (privateJwk.d === undefined) throw new Finding(`${keyPath}: not a private key (no "d")`);
  let jws: string;
  try {
    jws = await signRules(text, { privateJwk }, { signedBy, file: path });
  } catch (error) {
    if (error instanceof RuleFileError) throw new Finding(`not signed: the file has errors\n${error.message}`);
    if (error instanceof PolicyRefusal) throw new Finding(`not signed (${error.reason}): ${error.message}`);
    throw new Finding(`not signed: ${(error as Error).message}`);
  }
  const out = values.out ?? `${path!.replace(/\.ya?ml$/, '')}.jws`;
  writeFileSync(out, `${jws}\n`);
  const header = decodeProtectedHeader(jws) as Record<string, unknown>;
  console.log(`signed ${header.nation} version ${header.version} with key ${header.kid} as ${signedBy}: ${out}`);
  return 0;
}

async function verify([path]: string[], values: Values): Promise<number> {
  const trust = readJson<PolicyTrustStore>(need(values, 'trust', 'verify'), 'trust store');
  try {
    const rules = await verifySignedRules(readInput(path!), trust, { file: path });
    console.log(`verified: ${rules.nation} version ${rules.version}, signed by ${rules.signedBy} at ${rules.signedAt} with key ${rules.kid} (${rules.rules.rules.length} rules)`);
    return 0;
  } catch (error) {
    if (error instanceof PolicyRefusal) throw new Finding(`refused (${error.reason}): ${error.message}`);
    throw error;
  }
}

/** A .yaml file as is; a .jws verified with the trust store when there is one, else only read. */
async function loadEither(path: string, trust: PolicyTrustStore | undefined): Promise<RuleFile> {
  const text = readInput(path).trim();
  const signed = !path.endsWith('.yaml') && !path.endsWith('.yml') && text.split('.').length === 3 && !text.includes('\n');
  try {
    if (!signed) return parseRuleFile(text, path);
    if (trust) return (await verifySignedRules(text, trust, { file: path })).rules;
    const payload = Buffer.from(text.split('.')[1]!, 'base64url').toString('utf8');
    console.error(`${path}: signature not checked (no --trust)`);
    return parseRuleFile(payload, `${path} (payload)`);
  } catch (error) {
    if (error instanceof RuleFileError) throw new Finding(error.message);
    if (error instanceof PolicyRefusal) throw new Finding(`${path}: refused (${error.reason}): ${error.message}`);
    throw error;
  }
}

function context(values: Values): RuleFile[] {
  const dir = values.rules ?? DEFAULT_RULES_DIR;
  try {
    return loadRuleFolder(dir);
  } catch (error) {
    if (error instanceof RuleFileError) throw new Finding(`the rules in ${dir} have errors:\n${error.message}`);
    throw new UsageError(`--rules ${dir}: ${(error as Error).message}`);
  }
}

async function diff([oldPath, newPath]: string[], values: Values): Promise<number> {
  const trust = values.trust ? readJson<PolicyTrustStore>(values.trust, 'trust store') : undefined;
  const before = await loadEither(oldPath!, trust);
  const after = await loadEither(newPath!, trust);
  if (before.nation !== after.nation) throw new UsageError(`${oldPath} is ${before.nation}'s rules and ${newPath} is ${after.nation}'s: diff compares two versions of one nation's file`);
  const changes = diffRuleFiles(before, after, { context: context(values), schema: await contractSchema() });
  console.log(`${before.nation} version ${before.version} -> ${after.version}`);
  console.log(formatDiff(changes));
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// test

interface TestCase {
  name?: string;
  principal: Partial<Principal>;
  object: { type: string; owner: string; marking: Pick<Marking, "classification" | "tlp"> & Partial<Marking>; fieldMarkings?: Record<string, Marking>; values?: Record<string, unknown> };
  expect: Record<string, string>;
}

async function test(paths: string[], values: Values): Promise<number> {
  let failed = 0;
  let passed = 0;
  for (const path of paths) {
    const doc = parseYaml(readInput(path)) as { rules?: string[]; cases?: TestCase[] } | null;
    if (!doc || !Array.isArray(doc.cases)) throw new Finding(`${path}: a policy test file needs "cases" (a list)`);
    const files = context(values);
    for (const rel of doc.rules ?? []) {
      const rulePath = resolve(dirname(path), rel);
      const file = await loadEither(rulePath, undefined);
      files.splice(0, files.length, ...files.filter((f) => f.nation !== file.nation), file);
    }
    const engine = createPolicyEngine({ files, schema: await contractSchema() });
    doc.cases.forEach((c, index) => {
      const label = `${path} case ${index + 1}${c.name ? ` (${c.name})` : ''}`;
      const problem = caseProblem(c);
      if (problem) {
        console.log(`FAIL ${label}: ${problem}`);
        failed++;
        return;
      }
      const nation = c.principal.nation!;
      const principal: Principal = {
        subject: c.principal.subject ?? 'test',
        nation,
        clearance: c.principal.clearance!,
        roles: c.principal.roles ?? [],
        communities: c.principal.communities ?? Object.keys(engine.communities).filter((k) => engine.communities[k]!.includes(nation)),
      };
      const object: ObjectFacts = { ...c.object, marking: { releasableTo: [], caveats: [], ...c.object.marking } };
      const wrong: string[] = [];
      for (const [field, expected] of Object.entries(c.expect)) {
        const got = engine.explain(principal, object, field);
        const gotLabel = got.transform ? `transform:${got.transform}` : got.effect;
        if (expected === got.effect || expected === gotLabel) continue;
        const reasons = [got.reason, ...got.rules.map((r) => `${r.rule}=${r.effect}${r.ignored ? ` (ignored: ${r.ignored})` : ''}`)];
        if (got.baseline) reasons.push(...got.baseline.checks.filter((k) => !k.held).map((k) => `baseline ${k.check} failed`));
        wrong.push(`  ${c.object.type}.${field}: expected ${expected}, got ${gotLabel}; because ${[...new Set(reasons)].join(', ')}`);
      }
      if (wrong.length) {
        failed++;
        console.log(`FAIL ${label}\n${wrong.join('\n')}`);
      } else passed++;
    });
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

function caseProblem(c: TestCase): string | undefined {
  if (!c || typeof c !== 'object') return 'a case must be a mapping';
  if (!c.principal?.nation || !isClassification(c.principal.clearance)) return `principal needs nation and clearance (one of ${CLASSIFICATIONS.join(', ')})`;
  if (!c.object?.type || !c.object.owner || !c.object.marking) return 'object needs type, owner and marking';
  if (!c.expect || typeof c.expect !== 'object' || !Object.keys(c.expect).length) return 'expect needs at least one field: effect';
  for (const [field, effect] of Object.entries(c.expect)) {
    if (!(EFFECTS as readonly string[]).includes(String(effect).split(':')[0]!)) return `expect.${field}: "${effect}" is not one of ${EFFECTS.join(', ')} (or transform:<name>)`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// publish, history

function baseUrl(value: string, option: string): string {
  try {
    return new URL(value).toString().replace(/\/$/, '');
  } catch {
    throw new UsageError(`--${option} ${value}: not a URL (e.g. http://localhost:4103)`);
  }
}

async function request(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (error) {
    throw new Finding(`${url}: could not reach the nation's subgraph: ${(error as Error).cause ? String((error as Error & { cause: unknown }).cause) : (error as Error).message}`);
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    throw new Finding(`${url}: answered ${res.status} with no JSON: ${text.slice(0, 200)}`);
  }
}

async function publish([path]: string[], values: Values): Promise<number> {
  const url = `${baseUrl(need(values, 'to', 'publish'), 'to')}/policy`;
  const jws = readInput(path!).trim();
  const { status, body } = await request(url, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jws });
  if (body.accepted === true) {
    console.log(`${body.unchanged ? 'already in force' : 'accepted'}: ${body.nation} version ${body.version}, signed by ${body.signedBy} at ${body.signedAt}`);
    return 0;
  }
  const error = (body.error ?? {}) as { reason?: string; message?: string };
  throw new Finding(`refused by ${url} (${status}${error.reason ? `, ${error.reason}` : ''}): ${error.message ?? JSON.stringify(body)}`);
}

async function history(_: string[], values: Values): Promise<number> {
  const url = `${baseUrl(need(values, 'from', 'history'), 'from')}/policy/history`;
  const { status, body } = await request(url);
  if (status !== 200 || !Array.isArray(body.versions)) throw new Finding(`${url} answered ${status}: ${JSON.stringify(body.error ?? body)}`);
  const rows = body.versions as Array<Record<string, unknown>>;
  if (!rows.length) console.log(`${body.nation}: no version accepted yet`);
  for (const v of rows) console.log(`${v.nation} version ${v.version}  signed by ${v.signedBy} at ${iso(v.signedAt)}  accepted ${iso(v.acceptedAt)}`);
  return 0;
}

async function signFolder([rulesDir]: string[], values: Values): Promise<number> {
  const keysDir = need(values, 'keys-dir', 'sign-folder');
  const outDir = need(values, 'out-dir', 'sign-folder');
  const signedBy = need(values, 'signed-by', 'sign-folder');
  const only = values.only?.split(',').map((n) => n.trim().toUpperCase()).filter(Boolean);
  const files = readdirSync(rulesDir!).filter((f) => f.endsWith('.yaml')).sort();
  const holders = files.map((name) => ({ name, file: parseRuleFile(readInput(join(rulesDir!, name)), name) })).filter(({ file }) => !only || only.includes(file.nation));
  mkdirSync(keysDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const keys: Record<string, { privateJwk: JWK }> = {};
  for (const { file } of holders) {
    const privatePath = join(keysDir, `${file.nation}.private.jwk.json`);
    if (!existsSync(privatePath)) {
      if (!values['create-keys']) throw new Finding(`${privatePath}: no policy key for ${file.nation} (pass --create-keys to make one)`);
      await createKeyPair(keysDir, file.nation);
    }
    keys[file.nation] = { privateJwk: readJson<JWK>(privatePath, 'key') };
  }
  const signed = await signRuleFolder(rulesDir!, keys, signedBy, holders.map(({ file }) => file.nation));
  for (const [nation, jws] of signed) writeFileSync(join(outDir, `${nation}.jws`), jws);
  console.log(`signed ${[...signed.keys()].join(', ')} into ${outDir}`);
  return 0;
}

/** An Ed25519 policy key pair: the private half for the officer (mode 600), the public for the trust store. */
async function createKeyPair(dir: string, holder: string): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = `policy-${holder}`;
  writeFileSync(join(dir, `${holder}.private.jwk.json`), JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'EdDSA', kid }, null, 2), { mode: 0o600 });
  writeFileSync(join(dir, `${holder}.public.jwk.json`), JSON.stringify({ ...(await exportJWK(publicKey)), alg: 'EdDSA', kid, use: 'sig' }, null, 2));
}

async function republish(_: string[], values: Values): Promise<number> {
  const base = baseUrl(need(values, 'from', 'republish'), 'from');
  const wanted = Number(need(values, 'version', 'republish'));
  if (!Number.isInteger(wanted) || wanted < 1) throw new UsageError(`--version must be a version number (got ${values.version})`);
  const key = readJson<JWK>(need(values, 'key', 'republish'), 'policy key');
  const signedBy = need(values, 'signed-by', 'republish');
  const { status, body } = await request(`${base}/policy/history`);
  if (status !== 200 || !Array.isArray(body.versions)) throw new Finding(`${base}/policy/history answered ${status}: ${JSON.stringify(body.error ?? body)}`);
  const own = (body.versions as Array<{ nation: string; version: number; jws: string }>).filter((v) => v.nation === body.nation);
  const earlier = own.find((v) => v.version === wanted);
  if (!earlier) throw new Finding(`${body.nation} never accepted a version ${wanted} (it has ${own.map((v) => v.version).join(', ') || 'none'})`);
  const next = Math.max(...own.map((v) => v.version)) + 1;
  const text = payloadOf(earlier.jws).replace(/^version:\s*\d+\s*$/m, `version: ${next}`);
  const jws = await signRules(text, { privateJwk: key }, { signedBy });
  const answer = await request(`${base}/policy`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: jws });
  if (answer.body.accepted !== true) {
    const error = (answer.body.error ?? {}) as { reason?: string; message?: string };
    throw new Finding(`refused (${answer.status}${error.reason ? `, ${error.reason}` : ''}): ${error.message ?? JSON.stringify(answer.body)}`);
  }
  console.log(`accepted: ${body.nation} version ${next}, the rules of version ${wanted}, signed by ${signedBy}`);
  return 0;
}

/** The YAML a signed file carries (its signature was verified by the nation that kept it). */
function payloadOf(jws: string): string {
  const payload = jws.split('.')[1];
  if (!payload) throw new Finding('the kept version is not a compact JWS');
  return Buffer.from(payload, 'base64url').toString('utf8');
}

async function simulate(_: string[], values: Values): Promise<number> {
  const gateway = baseUrl(need(values, 'gateway', 'simulate'), 'gateway');
  const token = need(values, 'token', 'simulate');
  const [nation, clearance, roles = '', communities = ''] = need(values, 'as', 'simulate').split(':');
  if (!nation || !isClassification(clearance)) throw new UsageError(`--as must be NATION:CLEARANCE[:roles[:communities]], e.g. USA:SECRET:analyst:NATO,FVEY (clearance one of ${CLASSIFICATIONS.join(', ')})`);
  const query = values.query ?? (values['query-file'] ? readInput(values['query-file']) : undefined);
  if (!query) throw new UsageError('simulate needs --query or --query-file');
  const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);
  const { status, body } = await request(`${gateway}/policy/simulate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ as: { nation, clearance, roles: list(roles), communities: list(communities) }, query, ...(values.draft && { draft: readInput(values.draft) }) }),
  });
  if (status !== 200) {
    const error = (body.error ?? {}) as { message?: string; issues?: Array<{ line: number; rule?: string; message: string }> };
    const issues = (error.issues ?? []).map((i) => `\n  line ${i.line}${i.rule ? ` (rule ${i.rule})` : ''}: ${i.message}`).join('');
    throw new Finding(`the gateway refused the simulation (${status}): ${error.message ?? JSON.stringify(body)}${issues}`);
  }
  type Row = { path: Array<string | number>; value?: unknown; reason?: string; transform?: string };
  const rows = (name: string) => (body[name] ?? []) as Row[];
  const as = body.as as Principal;
  console.log(`as ${as.nation} ${as.clearance} [${as.roles.join(',')}] communities [${as.communities.join(',')}], from ${body.onlyNation} only${body.draft ? `, draft version ${(body.draft as { version: number }).version}` : ''}`);
  const section = (title: string, list: Row[], show: (r: Row) => string) => {
    console.log(`\n${title} (${list.length})`);
    for (const r of list) console.log(`  ${r.path.join('.')}  ${show(r)}`);
  };
  section('released', rows('released'), (r) => JSON.stringify(r.value));
  section('redacted', rows('redacted'), (r) => `[${r.reason}]`);
  section('generalised', rows('transformed'), (r) => `${JSON.stringify(r.value)}  [${r.reason}: ${r.transform}]`);
  section('withheld', rows('withheld'), (r) => `[${r.reason}]`);
  for (const e of (body.errors ?? []) as Array<{ message: string }>) console.log(`\nerror: ${e.message}`);
  return 0;
}

function iso(value: unknown): string {
  const date = new Date(value as string);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`policy: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if (error instanceof Finding) {
      console.error(error.message);
      process.exitCode = 1;
    } else {
      console.error('policy: unexpected error:', error);
      process.exitCode = 1;
    }
  },
);
