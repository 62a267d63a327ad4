/**
 * The policy console in a real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against a real coalition: a French policy officer signs in, edits FRA's rules
 * with live validation, reads the diff, sees what a US analyst would get with and without the draft,
 * signs the draft in the browser with the officer's key file and publishes it; the gateway then
 * enforces it.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestCoalition, type TestCoalition } from '../helpers/coalition';
import { CHROMIUM } from './ensure-chromium';

const NEW_RULE = `  - id: descriptions-stay-in-france
    description: Indicator descriptions never leave France.
    match: { types: [Indicator], fields: [description] }
    when: { principal: { notNations: [FRA] } }
    effect: deny
`;

let tc: TestCoalition;
let browser: Browser;
let origin: string;
let officerToken: string;
let keyDir: string;
let keyFile: string;

/** Two nations keep the start short: France (whose officer works) and the partner it is seen by. */
const NATIONS = ['FRA', 'USA'];

beforeAll(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'sovgraph-console-'));
  const rulesDir = join(keyDir, 'rules');
  mkdirSync(rulesDir);
  for (const name of [...NATIONS, 'coalition']) cpSync(join('policies/rules', `${name}.yaml`), join(rulesDir, `${name}.yaml`));
  [tc, browser] = await Promise.all([
    startTestCoalition({ seedSize: 40, nations: NATIONS, rulesDir }),
    chromium.launch({ executablePath: CHROMIUM, headless: true }),
  ]);
  origin = new URL(tc.coalition.gateway.url).origin;
  officerToken = await tc.token({ nation: 'FRA', clearance: 'SECRET', roles: ['policy-officer'], communities: ['NATO', 'EU'], subject: 'marianne.dupont@fra' });
  keyFile = join(keyDir, 'FRA.private.jwk.json');
  writeFileSync(keyFile, JSON.stringify(tc.coalition.keys.policyKeys.FRA!.privateJwk, null, 2));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await tc?.stop();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

async function openConsole(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // 401/403 answers the page handles itself show up as failed resource loads.
    if (message.type() === 'error' && !/status of 40[13]/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${origin}/console`);
  return { context, page, problems };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Bearer token of a policy officer').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('the policy console', () => {
  it('a French officer edits, checks, simulates, signs and publishes a stricter rule that the gateway then enforces', async () => {
    const { context, page, problems } = await openConsole();
    try {
      await signIn(page, officerToken);
      await expect.poll(() => page.locator('#who-nation').textContent()).toContain('FRA');
      await expect.poll(() => page.locator('#inforce-table tbody tr').count()).toBeGreaterThanOrEqual(NATIONS.length + 1);

      // FRA's file in force is in the editor; another nation's opens read-only.
      const editor = page.locator('#draft');
      await expect.poll(() => editor.inputValue()).toContain('nation: FRA');
      const original = await editor.inputValue();
      await page.getByRole('button', { name: "Read USA's rules" }).click();
      expect(await editor.inputValue()).toContain('nation: USA');
      expect(await editor.getAttribute('readonly')).not.toBeNull();
      await page.getByRole('button', { name: 'Back to my draft' }).click();
      expect(await editor.inputValue()).toBe(original);
      await expect.poll(() => page.locator('#validation-status').textContent()).toContain('Valid — FRA version 1');

      // An unknown effect: the error names its line, and publishing is disabled.
      const lines = original.split('\n');
      const sourcesRule = lines.findIndex((l) => l.includes('id: sources-stay-in-france'));
      const effectLine = lines.findIndex((l, i) => i > sourcesRule && /^\s+effect: deny/.test(l));
      expect(effectLine).toBeGreaterThan(sourcesRule);
      const broken = lines.map((l, i) => (i === effectLine ? l.replace('effect: deny', 'effect: forbid') : l)).join('\n');
      await editor.fill(broken);
      const error = page.locator('#issues li', { hasText: `Line ${effectLine + 1}` });
      await expect.poll(() => error.count(), { timeout: 5000 }).toBeGreaterThan(0);
      expect(await error.first().textContent()).toMatch(/effect|forbid/i);
      expect(await page.locator('#validation-status').textContent()).toMatch(/error/);
      expect(await page.locator('#publish').isDisabled()).toBe(true);
      expect(await page.locator(`#gutter span:nth-child(${effectLine + 1})`).getAttribute('class')).toBe('err');

      // Fixed, version 2, and a stricter rule: the diff lists the change.
      const draft = `${original.replace(/^version: 1$/m, 'version: 2').replace(/\n*$/, '\n')}${NEW_RULE}`;
      await editor.fill(draft);
      await expect.poll(() => page.locator('#validation-status').textContent(), { timeout: 5000 }).toContain('Valid — FRA version 2');
      expect(await page.locator('#issues li').count()).toBe(0);
      await expect.poll(() => page.locator('#diff-summary').textContent(), { timeout: 5000 }).toMatch(/^\d+ decisions? changes? from FRA v1/);
      const descriptionRows = page.locator('#diff-table tbody tr', { hasText: 'Indicator.description' });
      expect(await descriptionRows.count()).toBeGreaterThan(0);
      expect(await descriptionRows.first().textContent()).toContain('descriptions-stay-in-france');
      expect(await descriptionRows.first().textContent()).toContain('deny');
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: 'test-results/console-rules.png', fullPage: true });

      // See as a US analyst cleared SECRET: source withheld by the rules in force...
      await page.getByRole('tab', { name: 'See as' }).click();
      await page.getByLabel('Partner nation').selectOption('USA');
      await page.getByLabel('Clearance').selectOption('SECRET');
      await page.getByLabel('Roles (comma separated)').fill('analyst');
      await page.getByLabel('Saved query').selectOption({ label: 'French indicators with source and description' });
      await page.getByRole('button', { name: 'Run' }).click();
      await expect.poll(() => page.locator('#seeas-status').textContent(), { timeout: 10_000 }).toContain('under the rules in force');
      const withheld = page.locator('#list-withheld');
      expect(await withheld.textContent()).toContain('FRA/sources-stay-in-france');
      expect(await withheld.textContent()).not.toContain('descriptions-stay-in-france');
      expect(Number(await page.locator('#count-released').textContent())).toBeGreaterThan(0);

      // ...and with the draft, description withheld by the new rule.
      await page.getByLabel('Use my draft (instead of the rules in force)').check();
      await page.getByRole('button', { name: 'Run' }).click();
      await expect.poll(() => page.locator('#seeas-status').textContent(), { timeout: 10_000 }).toContain('your draft (v2)');
      const draftWithheld = page.locator('#list-withheld li', { hasText: 'FRA/descriptions-stay-in-france' });
      expect(await draftWithheld.count()).toBeGreaterThan(0);
      expect(await draftWithheld.first().textContent()).toMatch(/\.description/);
      expect(await withheld.textContent()).toContain('FRA/sources-stay-in-france');
      await page.screenshot({ path: 'test-results/console-see-as.png' });

      // Publish, signed in the browser with the officer's key file.
      await page.getByRole('tab', { name: 'Rules & draft' }).click();
      expect(await page.locator('#next-version').inputValue()).toBe('2');
      await page.getByLabel('Your policy key file (JWK)').setInputFiles(keyFile);
      await expect.poll(() => page.locator('#key-status').textContent()).toContain('policy-FRA');
      await page.getByLabel('Signed by').fill('Marianne Dupont');
      await expect.poll(() => page.locator('#publish').isEnabled()).toBe(true);
      await page.getByRole('button', { name: 'Publish', exact: true }).click();
      await expect.poll(() => page.locator('#publish-result').textContent(), { timeout: 10_000 }).toContain('Accepted: FRA version 2');
      await expect.poll(() => page.locator('#inforce-table tr[data-nation=FRA]').textContent()).toContain('v2');

      // The feeds: the simulations are in FRA's audit log, version 2 in its history.
      await page.getByRole('tab', { name: 'Feeds' }).click();
      await expect.poll(() => page.locator('#history-table tbody').textContent(), { timeout: 5000 }).toContain('v2 (in force)');
      await expect.poll(() => page.locator('#audit-table tbody').textContent(), { timeout: 5000 }).toContain('marianne.dupont@fra');
      await page.screenshot({ path: 'test-results/console-feeds.png', fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }

    // Outside the browser: the gateway has version 2 in force, and enforces it.
    const deadline = Date.now() + 5000;
    let fra: { version: number; signedBy: string } | undefined;
    while (Date.now() < deadline) {
      const response = await fetch(`${origin}/policy`, { headers: { authorization: `Bearer ${officerToken}` } });
      const body = (await response.json()) as { inForce: Array<{ nation: string; version: number; signedBy: string }> };
      fra = body.inForce.find((f) => f.nation === 'FRA');
      if (fra?.version === 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(fra).toMatchObject({ version: 2, signedBy: 'Marianne Dupont' });
    const analyst = await tc.token({ nation: 'USA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO'] });
    const answer = await tc.ask(analyst, '{ indicators(first: 5, filter: { nations: ["FRA"] }) { edges { node { id name description } } } }');
    expect(answer.status).toBe(200);
    const nodes = answer.data.indicators.edges.map((e: { node: { description: unknown } }) => e.node);
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.every((n: { description: unknown }) => n.description === null)).toBe(true);
    const reasons = (answer.errors ?? []).filter((e) => e.path?.at(-1) === 'description').map((e) => e.extensions?.reason);
    // Each withheld with a reason (a field's own marking may withhold it first), the new rule among them.
    expect(reasons.length).toBe(nodes.length);
    expect(reasons).toContain('FRA/descriptions-stay-in-france');
    for (const reason of reasons) expect(reason).toMatch(/^(FRA\/descriptions-stay-in-france|marking:.+)$/);
  });

  it('re-publishes version 1 from the history as version 3, then version 4 as a shadow the shadow report counts', async () => {
    const { context, page, problems } = await openConsole();
    try {
      // The token is kept in the tab's session: a fresh context signs in again.
      await signIn(page, officerToken);
      await expect.poll(() => page.locator('#inforce-table tr[data-nation=FRA]').textContent()).toContain('v2');
      await page.getByLabel('Your policy key file (JWK)').setInputFiles(keyFile);
      await page.getByLabel('Signed by').fill('Marianne Dupont');
      await expect.poll(() => page.locator('#key-status').textContent()).toContain('policy-FRA');
      await page.getByRole('tab', { name: 'Feeds' }).click();
      await page.getByRole('button', { name: 'Re-publish version 1 as a new version' }).click();
      await expect.poll(() => page.locator('#republish-result').textContent(), { timeout: 10_000 }).toContain('Accepted: FRA version 3');
      await expect.poll(() => page.locator('#history-table tbody').textContent(), { timeout: 5000 }).toContain('v3 (in force)');
      await page.getByRole('tab', { name: 'Rules & draft' }).click();
      expect(await page.locator('#draft').inputValue()).toMatch(/^version: 3$/m);
      expect(await page.locator('#draft').inputValue()).not.toContain('descriptions-stay-in-france');

      // The next version as a shadow: nothing released changes, the shadow report counts it.
      expect(await page.locator('#next-version').inputValue()).toBe('4');
      await page.getByRole('button', { name: 'Write this version into the draft' }).click();
      await expect.poll(() => page.locator('#validation-status').textContent(), { timeout: 5000 }).toContain('Valid — FRA version 4');
      await expect.poll(() => page.locator('#publish-shadow').isEnabled()).toBe(true);
      await page.getByRole('button', { name: 'Publish as shadow' }).click();
      await expect.poll(() => page.locator('#publish-result').textContent(), { timeout: 10_000 }).toContain('Accepted as shadow: FRA version 4');
      await page.getByRole('tab', { name: 'Feeds' }).click();
      await expect.poll(() => page.locator('#shadow-report').textContent(), { timeout: 5000 }).toContain('FRA v4 in shadow');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
    const analyst = await tc.token({ nation: 'USA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO'] });
    const answer = await tc.ask(analyst, '{ indicators(first: 5, filter: { nations: ["FRA"] }) { edges { node { id description } } } }');
    expect((answer.errors ?? []).map((e) => e.extensions?.reason)).not.toContain('FRA/descriptions-stay-in-france');
  });

  it('tells a principal without the policy-officer role that they are not a policy officer', async () => {
    const { context, page } = await openConsole();
    try {
      const analyst = await tc.token({ nation: 'FRA', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO', 'EU'] });
      await signIn(page, analyst);
      const message = page.locator('#signin-message');
      await expect.poll(() => message.textContent()).toMatch(/not a policy officer/i);
      expect(await message.isVisible()).toBe(true);
      expect(await page.locator('#app').isVisible()).toBe(false);
    } finally {
      await context.close();
    }
  });

  it('serves the page under a self-only CSP, and jose read-only without path traversal', async () => {
    const page = await rawGet('/console');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await rawGet('/console/vendor/jose/index.js')).status).toBe(200);
    expect((await rawGet('/console/vendor/jose/jws/compact/sign.js')).status).toBe(200);
    for (const path of ['/console/vendor/jose/../../package.json', '/console/vendor/jose/..%2f..%2f..%2fpackage.json', '/console/vendor/jose/%2e%2e/%2e%2e/package.json', '/console/vendor/jose/..%5c..%5cpackage.json', '/console/vendor/jose/']) {
      const answer = await rawGet(path);
      expect(answer.status, path).toBe(404);
      expect(answer.body, path).not.toContain('"name"');
    }
    expect((await rawGet('/console/vendor/jose/index.js', 'POST')).status).toBe(405);
  });
});

/** A request with the path exactly as written (fetch would normalise the dots away). */
function rawGet(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
