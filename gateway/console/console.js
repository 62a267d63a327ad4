// The policy console: plain ES module, no framework. Every API call carries the officer's token;
// signing happens here, with the officer's own key file and jose (served by the gateway from
// node_modules): the gateway never signs.
import { CompactSign, importJWK } from '/console/vendor/jose/index.js';

const TOKEN_KEY = 'sovgraph.console.token';
const SIGNED_RULES_TYPE = 'sovgraph-rules+jws';
const VALIDATE_DELAY_MS = 350;

const SAVED_QUERIES = [
  {
    name: 'French indicators with source and description',
    query: `{
  indicators(first: 5, filter: { nations: ["FRA"] }) {
    edges { node { id name pattern description source { name kind } } }
  }
}`,
  },
  {
    name: 'Incidents with victim',
    query: `{
  incidents(first: 5) {
    edges { node { id name severity sector victim description } }
  }
}`,
  },
  {
    name: 'Sightings with whereSighted',
    query: `{
  sightings(first: 5) {
    edges { node { id count firstSeen lastSeen whereSighted { name kind country } } }
  }
}`,
  },
];

const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  claims: null,
  policy: null,
  /** The officer's own nation's file in force. */
  own: null,
  draftText: '',
  /** Which file the editor shows: null for the officer's draft, else another nation's (read-only). */
  viewing: null,
  validation: null,
  validateSeq: 0,
  key: null,
  busy: false,
};

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? body?.errors?.[0]?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.reason = body?.error?.reason;
  }
}

async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${state.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  if (response.status === 401) {
    signOut(`Your token was refused: ${parsed?.error?.message ?? 'sign in again'}.`);
    throw new ApiError(401, parsed);
  }
  if (response.status === 403 && parsed?.error?.reason === 'forbidden' && /policy-officer/.test(parsed.error.message ?? '')) {
    signOut(`Not a policy officer: this token has no policy-officer role, so the console cannot be used with it. (${parsed.error.message})`);
    throw new ApiError(403, parsed);
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return { status: response.status, body: parsed };
}

// ---------------------------------------------------------------- helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

function base64UrlDecode(segment) {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(segment.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The token's claims, decoded for display only: the gateway verifies and decides. */
function decodeClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('a bearer token has three dot-separated parts');
  return JSON.parse(base64UrlDecode(parts[1]));
}

function setMessage(node, text, kind) {
  node.hidden = !text;
  node.textContent = text ?? '';
  node.className = `message${kind ? ` ${kind}` : ''}`;
}

function pathText(path) {
  return path.reduce((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : String(part)), '');
}

function valueText(value) {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function withVersion(text, version) {
  if (/^version:[^\n]*$/m.test(text)) return text.replace(/^version:[^\n]*$/m, `version: ${version}`);
  return text.replace(/^(nation:[^\n]*\n)/m, `$1version: ${version}\n`);
}

// ---------------------------------------------------------------- sign in

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.claims = null;
  $('app').hidden = true;
  $('who').hidden = true;
  $('signin').hidden = false;
  setMessage($('signin-message'), message ?? '', message ? 'bad' : '');
}

async function signIn(token) {
  let claims;
  try {
    claims = decodeClaims(token);
  } catch (error) {
    setMessage($('signin-message'), `That is not a token: ${error.message}.`, 'bad');
    return;
  }
  state.token = token;
  state.claims = claims;
  sessionStorage.setItem(TOKEN_KEY, token);
  setMessage($('signin-message'), '', '');
  try {
    await loadPolicy();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return;
    setMessage($('signin-message'), `The gateway did not answer: ${error.message}`, 'bad');
    return;
  }
  $('who-subject').textContent = claims.sub ?? 'unknown';
  $('who-nation').textContent = `${claims.nation ?? '?'} · ${claims.clearance ?? ''}`;
  for (const node of document.querySelectorAll('.own-nation')) node.textContent = claims.nation ?? 'your nation';
  for (const node of document.querySelectorAll('.own-nation-suffix')) node.textContent = `(${claims.nation}'s audit log)`;
  for (const node of document.querySelectorAll('.own-nation-suffix-history')) node.textContent = `(every version ${claims.nation} accepted)`;
  if (!$('signed-by').value) $('signed-by').value = claims.sub ?? '';
  $('who').hidden = false;
  $('signin').hidden = true;
  $('app').hidden = false;
  openDraft(state.own?.text ?? `nation: ${claims.nation}\nversion: 1\nrules: []\n`);
  selectTab('tab-rules');
}

// ---------------------------------------------------------------- rules in force

async function loadPolicy() {
  const { body } = await api('/policy');
  state.policy = body;
  state.own = body.inForce.find((f) => f.nation === state.claims.nation) ?? null;
  renderInForce();
  renderVersionHint();
}

function renderInForce() {
  const tbody = $('inforce-table').querySelector('tbody');
  tbody.replaceChildren();
  const files = [...state.policy.inForce].sort((a, b) => (a.nation === state.claims.nation ? -1 : b.nation === state.claims.nation ? 1 : a.nation.localeCompare(b.nation)));
  for (const file of files) {
    const mine = file.nation === state.claims.nation;
    tbody.append(
      el('tr', { class: mine ? 'mine' : '', 'data-nation': file.nation },
        el('th', { scope: 'row' }, file.nation, mine ? el('span', { class: 'help', text: ' (yours)' }) : ''),
        el('td', { text: `v${file.version}` }),
        el('td', { text: file.signedBy ?? '—' }),
        el('td', { text: when(file.signedAt) }),
        el('td', {}, el('button', { type: 'button', class: 'quiet', 'aria-label': `${mine ? 'Edit' : 'Read'} ${file.nation}'s rules`, onclick: () => (mine ? backToDraft() : viewOther(file)) }, mine ? 'Edit' : 'Read')),
      ),
    );
  }
  const alerts = state.policy.alerts ?? [];
  setMessage($('policy-alerts'), alerts.length ? `Alerts: ${alerts.map((a) => a.message ?? JSON.stringify(a)).join(' · ')}` : '', 'warn');
  const shadows = state.policy.shadows ?? [];
  $('shadows-line').hidden = !shadows.length;
  $('shadows-line').textContent = shadows.length ? `In shadow: ${shadows.map((s) => `${s.nation} v${s.version}`).join(', ')}` : '';
}

// ---------------------------------------------------------------- editor

function renderGutter() {
  const text = $('draft').value;
  const lines = text.split('\n').length;
  const errors = new Set();
  const warnings = new Set();
  if (!state.viewing && state.validation) {
    for (const issue of state.validation.issues ?? []) errors.add(issue.line);
    for (const warning of state.validation.warnings ?? []) warnings.add(warning.line);
  }
  const gutter = $('gutter');
  gutter.replaceChildren(...Array.from({ length: lines }, (_, i) => el('span', { class: errors.has(i + 1) ? 'err' : warnings.has(i + 1) ? 'warn' : '', text: String(i + 1) })));
  gutter.scrollTop = $('draft').scrollTop;
}

function openDraft(text) {
  state.draftText = text;
  state.viewing = null;
  const area = $('draft');
  area.readOnly = false;
  area.value = text;
  $('editor-title').textContent = `${state.claims.nation}'s rules — your draft`;
  $('editor-mode').textContent = 'editable';
  $('back-to-draft').hidden = true;
  $('reset-draft').hidden = false;
  renderGutter();
  scheduleValidation(0);
}

function backToDraft() {
  if (!state.viewing) return;
  openDraft(state.draftText);
}

function viewOther(file) {
  if (!state.viewing) state.draftText = $('draft').value;
  state.viewing = file.nation;
  const area = $('draft');
  area.readOnly = true;
  area.value = file.text;
  $('editor-title').textContent = `${file.nation}'s rules in force (v${file.version})`;
  $('editor-mode').textContent = 'read-only';
  $('back-to-draft').hidden = false;
  $('reset-draft').hidden = true;
  $('validation-status').textContent = '';
  $('issues').replaceChildren();
  $('warnings').replaceChildren();
  renderGutter();
  updatePublishable();
}

let validateTimer;
function scheduleValidation(delay = VALIDATE_DELAY_MS) {
  clearTimeout(validateTimer);
  $('validation-status').textContent = 'Checking…';
  $('validation-status').className = 'status';
  state.validation = null;
  updatePublishable();
  validateTimer = setTimeout(validateNow, delay);
}

async function validateNow() {
  if (state.viewing) return;
  const seq = ++state.validateSeq;
  const text = $('draft').value;
  let result;
  try {
    ({ body: result } = await api('/policy/validate', { method: 'POST', body: { text } }));
  } catch (error) {
    if (seq !== state.validateSeq) return;
    $('validation-status').textContent = `Could not validate: ${error.message}`;
    $('validation-status').className = 'status bad';
    return;
  }
  if (seq !== state.validateSeq || state.viewing) return;
  state.validation = { ...result, text };
  renderValidation();
  updatePublishable();
  if (result.valid) await runDiff(text, seq);
  else clearDiff('The draft has errors: fix them to see what changes.');
}

function renderValidation() {
  const { issues = [], warnings = [], valid, nation, version } = state.validation;
  const status = $('validation-status');
  if (valid) {
    status.textContent = `Valid — ${nation} version ${version}${warnings.length ? `, ${warnings.length} warning${warnings.length > 1 ? 's' : ''}` : ''}`;
    status.className = 'status ok';
  } else {
    status.textContent = `${issues.length} error${issues.length === 1 ? '' : 's'}: publishing is disabled`;
    status.className = 'status bad';
  }
  const item = (entry, kind) =>
    el('li', { class: kind },
      el('span', { class: 'where', text: `Line ${entry.line}` }),
      entry.rule ? el('span', { class: 'rule', text: `[${entry.rule}]` }) : '',
      el('span', { text: entry.message }));
  $('issues').replaceChildren(...issues.map((i) => item(i, 'error')));
  $('warnings').replaceChildren(...warnings.map((w) => item(w, 'warning')));
  renderGutter();
}

// ---------------------------------------------------------------- diff

function clearDiff(message) {
  $('diff-summary').textContent = message;
  $('diff-table').querySelector('tbody').replaceChildren();
}

function decisionCell(decision) {
  if (!decision) return el('td', { text: '—' });
  return el('td', {},
    el('span', { class: `effect effect-${decision.effect}`, text: decision.transform ? `${decision.effect} (${decision.transform})` : decision.effect }),
    decision.reason ? el('span', { class: 'reason', text: decision.reason }) : '');
}

async function runDiff(text, seq) {
  let diff;
  try {
    ({ body: diff } = await api('/policy/diff', { method: 'POST', body: { text } }));
  } catch (error) {
    if (seq === state.validateSeq) clearDiff(`No diff: ${error.message}`);
    return;
  }
  if (seq !== state.validateSeq) return;
  $('diff-summary').textContent = diff.total === 0
    ? `No decision changes between ${diff.nation} v${diff.from} in force and this draft (v${diff.to}).`
    : `${diff.total} decision${diff.total === 1 ? '' : 's'} change from ${diff.nation} v${diff.from} in force to this draft (v${diff.to})${diff.changes.length < diff.total ? `; the first ${diff.changes.length} are shown` : ''}.`;
  $('diff-table').querySelector('tbody').replaceChildren(
    ...diff.changes.map((change) =>
      el('tr', {},
        el('td', { class: 'mono', text: `${change.type}.${change.field}` }),
        el('td', {}, change.principal, change.objects?.length ? el('span', { class: 'reason', text: `objects: ${change.objects.join('; ')}` }) : ''),
        decisionCell(change.before),
        decisionCell(change.after))),
  );
}

// ---------------------------------------------------------------- publish

function nextVersion() {
  return (state.own?.version ?? 0) + 1;
}

function renderVersionHint() {
  const next = nextVersion();
  const input = $('next-version');
  if (!input.dataset.touched || Number(input.value) <= (state.own?.version ?? 0)) input.value = String(next);
  $('version-hint').textContent = state.own ? `In force: ${state.own.nation} v${state.own.version}, signed by ${state.own.signedBy}. The draft must say the version you publish.` : 'No rules of your nation in force yet.';
}

function publishBlocker() {
  if (state.viewing) return 'You are reading another nation\'s rules: go back to your draft to publish.';
  const validation = state.validation;
  if (!validation || validation.text !== $('draft').value) return 'Waiting for validation…';
  if (!validation.valid) return 'The draft has errors: fix them before publishing.';
  if (validation.nation !== state.claims.nation) return `The draft is ${validation.nation}'s: you publish ${state.claims.nation}'s rules only.`;
  const wanted = Number($('next-version').value);
  if (validation.version !== wanted) return `The draft says version ${validation.version}; you are publishing version ${wanted}. Write the version into the draft.`;
  if (!state.key) return 'Choose your policy key file to sign.';
  if (!$('signed-by').value.trim()) return 'Say who signs ("Signed by").';
  if (state.busy) return 'Publishing…';
  return '';
}

function updatePublishable() {
  const blocker = publishBlocker();
  $('publish').disabled = Boolean(blocker);
  $('publish-shadow').disabled = Boolean(blocker);
  $('publish-blocked').textContent = blocker;
}

async function loadKey(file) {
  state.key = null;
  try {
    const jwk = JSON.parse(await file.text());
    if (!jwk.kid || !jwk.alg) throw new Error('the key file must name its "kid" and "alg"');
    if (!jwk.d) throw new Error('this is a public key: choose the private key file');
    const key = await importJWK(jwk, jwk.alg);
    state.key = { key, kid: jwk.kid, alg: jwk.alg };
    $('key-status').textContent = `Key ${jwk.kid} (${jwk.alg}) loaded from ${file.name}. It signs here and is never sent.`;
    $('key-status').className = 'help';
  } catch (error) {
    $('key-status').textContent = `That key file cannot sign: ${error.message}`;
    $('key-status').className = 'help status bad';
  }
  updatePublishable();
}

/** Signs exactly as policies/signed-rules.ts signRules does: the payload is the YAML text, byte for byte. */
async function signRules(text, nation, version) {
  return new CompactSign(new TextEncoder().encode(text))
    .setProtectedHeader({
      alg: state.key.alg,
      kid: state.key.kid,
      typ: SIGNED_RULES_TYPE,
      nation,
      version,
      signedBy: $('signed-by').value.trim(),
      signedAt: new Date().toISOString(),
    })
    .sign(state.key.key);
}

async function publishSigned(jws, shadow) {
  const response = await fetch('/policy/publish', {
    method: 'POST',
    headers: { authorization: `Bearer ${state.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(shadow ? { jws, shadow: true } : { jws }),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, body };
}

function describePublication({ status, body }, shadow) {
  if (status === 201 || status === 200) {
    const version = body?.version ?? body?.rules?.version;
    return { kind: 'ok', text: `Accepted${shadow ? ' as shadow' : ''}: ${body?.nation ?? state.claims.nation} version ${version}${body?.unchanged ? ' (already in force)' : ''}.` };
  }
  const reason = body?.error?.reason ?? `HTTP ${status}`;
  const message = body?.error?.message ?? 'no explanation given';
  return { kind: 'bad', text: `Refused (${reason}): ${message}` };
}

async function publish(shadow) {
  const blocker = publishBlocker();
  if (blocker) return;
  const { text, nation, version } = state.validation;
  state.busy = true;
  updatePublishable();
  setMessage($('publish-result'), shadow ? 'Signing and publishing as shadow…' : 'Signing and publishing…', '');
  try {
    const jws = await signRules(text, nation, version);
    const answer = await publishSigned(jws, shadow);
    const described = describePublication(answer, shadow);
    setMessage($('publish-result'), described.text, described.kind);
    if (described.kind === 'ok') {
      await loadPolicy();
      if (!shadow) {
        $('next-version').dataset.touched = '';
        renderVersionHint();
        scheduleValidation(0);
      }
    }
  } catch (error) {
    setMessage($('publish-result'), `Could not publish: ${error.message}`, 'bad');
  } finally {
    state.busy = false;
    updatePublishable();
  }
}

// ---------------------------------------------------------------- see as

function selectedCommunities() {
  return [...document.querySelectorAll('input[name=as-community]:checked')].map((c) => c.value);
}

function leaf(path, main, kind) {
  return el('li', {}, el('span', { class: 'path', text: pathText(path) }), el('span', { class: kind, text: main }));
}

function fill(listId, countId, items, render, limit = 300) {
  $(countId).textContent = String(items.length);
  const rows = items.slice(0, limit).map(render);
  if (items.length > limit) rows.push(el('li', { class: 'help', text: `… and ${items.length - limit} more` }));
  $(listId).replaceChildren(...rows);
}

async function runSeeAs(event) {
  event.preventDefault();
  const status = $('seeas-status');
  status.textContent = 'Running…';
  status.className = 'status';
  const useDraft = $('use-draft').checked;
  const request = {
    as: {
      nation: $('as-nation').value,
      clearance: $('as-clearance').value,
      roles: $('as-roles').value.split(',').map((r) => r.trim()).filter(Boolean),
      communities: selectedCommunities(),
    },
    query: $('query').value,
    ...(useDraft && { draft: state.viewing ? state.draftText : $('draft').value }),
  };
  let result;
  try {
    ({ body: result } = await api('/policy/simulate', { method: 'POST', body: request }));
  } catch (error) {
    const issues = error.body?.error?.issues ?? [];
    status.textContent = `Could not run: ${error.message}${issues.length ? ` — ${issues.map((i) => `line ${i.line}: ${i.message}`).join('; ')}` : ''}`;
    status.className = 'status bad';
    return;
  }
  const as = result.as;
  status.textContent = `As ${as.nation} ${as.clearance} [${as.roles.join(', ') || 'no role'}] in ${as.communities.join(', ') || 'no confirmed community'}, against ${result.onlyNation} only, under ${result.draft ? `your draft (v${result.draft.version})` : 'the rules in force'}.`;
  status.className = 'status ok';
  fill('list-released', 'count-released', result.released, (r) => leaf(r.path, valueText(r.value), 'value'));
  const changed = [
    ...result.redacted.map((r) => ({ ...r, label: `redacted by ${r.reason}` })),
    ...result.transformed.map((t) => ({ ...t, label: `${t.transform ?? 'generalised'} by ${t.reason}` })),
  ];
  fill('list-redacted', 'count-redacted', changed, (r) => el('li', {}, el('span', { class: 'path', text: pathText(r.path) }), el('span', { class: 'value', text: valueText(r.value) }), el('span', { class: 'why reason', text: r.label })));
  fill('list-withheld', 'count-withheld', result.withheld, (w) => leaf(w.path, w.reason, 'why'));
  const errors = result.errors ?? [];
  setMessage($('seeas-errors'), errors.length ? `Other errors: ${errors.map((e) => `${e.code ?? ''} ${e.message}`.trim()).join(' · ')}` : '', 'warn');
}

// ---------------------------------------------------------------- feeds

async function loadFeeds() {
  $('feeds-status').textContent = 'Loading…';
  const nation = state.claims.nation;
  const results = await Promise.allSettled([
    api('/policy/audit?limit=50').then(({ body }) => renderAudit(body)),
    api(`/policy/nation-history?nation=${encodeURIComponent(nation)}`).then(({ body }) => renderHistory(body)),
    api('/policy/shadow-report').then(({ body }) => renderShadowReport(body)),
  ]);
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
  $('feeds-status').textContent = failed.length ? `Some feeds failed: ${failed.join('; ')}` : `Updated ${when(new Date().toISOString())}`;
}

function renderAudit(body) {
  const records = [...(body.records ?? [])].sort((a, b) => b.seq - a.seq);
  const tbody = $('audit-table').querySelector('tbody');
  if (!records.length) return tbody.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'help', text: 'No release recorded yet.' })));
  tbody.replaceChildren(
    ...records.map(({ at, entry }) =>
      el('tr', {},
        el('td', { text: when(at) }),
        el('td', {}, entry.principal.subject, el('span', { class: 'reason', text: `${entry.principal.nation} · ${entry.principal.clearance}` })),
        el('td', { class: 'mono', text: entry.operation.name ?? `anonymous ${entry.operation.queryHash.slice(0, 10)}…` }),
        el('td', { text: String(entry.released.length) }),
        el('td', { text: String(entry.withheld.length) }),
        el('td', { text: `${entry.redacted.length} / ${entry.transformed.length}` }))),
  );
}

function renderHistory(body) {
  // A nation's subgraph keeps the coalition's files beside its own: the officer re-publishes its own.
  const own = state.claims.nation;
  const all = body.versions ?? [];
  const versions = all.filter((v) => v.nation === own).sort((a, b) => b.version - a.version);
  const others = all.filter((v) => v.nation !== own);
  $('history-others').textContent = others.length ? `Also kept at ${own}'s subgraph: ${others.map((v) => `${v.nation} v${v.version}`).join(', ')}.` : '';
  const current = state.own?.version;
  $('history-table').querySelector('tbody').replaceChildren(
    ...versions.map((v) =>
      el('tr', {},
        el('td', { text: `v${v.version}${v.version === current ? ' (in force)' : ''}` }),
        el('td', { text: v.signedBy ?? '—' }),
        el('td', { text: when(v.signedAt) }),
        el('td', { text: when(v.acceptedAt) }),
        el('td', {}, el('button', { type: 'button', 'aria-label': `Re-publish version ${v.version} as a new version`, onclick: () => republish(v) }, 'Re-publish as new version')))),
  );
}

async function republish(version) {
  const out = $('republish-result');
  if (!state.key) return setMessage(out, 'Choose your policy key file (Rules & draft → Publish) to sign the re-publication.', 'bad');
  if (!$('signed-by').value.trim()) return setMessage(out, 'Say who signs ("Signed by", under Publish).', 'bad');
  const next = nextVersion();
  let text;
  try {
    text = withVersion(base64UrlDecode(version.jws.split('.')[1]), next);
  } catch (error) {
    return setMessage(out, `Could not read version ${version.version}'s file: ${error.message}`, 'bad');
  }
  setMessage(out, `Signing version ${version.version}'s rules as version ${next}…`, '');
  try {
    const jws = await signRules(text, state.claims.nation, next);
    const answer = await publishSigned(jws, false);
    const described = describePublication(answer, false);
    setMessage(out, `${described.text}${described.kind === 'ok' ? ` (the rules of version ${version.version})` : ''}`, described.kind);
    if (described.kind === 'ok') {
      await loadPolicy();
      $('next-version').dataset.touched = '';
      renderVersionHint();
      openDraft(text);
      await loadFeeds();
    }
  } catch (error) {
    setMessage(out, `Could not re-publish: ${error.message}`, 'bad');
  }
}

function renderShadowReport(body) {
  const reports = body.reports ?? [];
  const target = $('shadow-report');
  if (!reports.length) return target.replaceChildren(el('p', { class: 'help', text: 'No shadow draft.' }));
  target.replaceChildren(
    ...reports.map((report) => {
      const rows = Object.entries(report.byRule ?? {}).flatMap(([rule, changes]) =>
        changes.map((c) => el('tr', {}, el('td', { class: 'mono', text: rule }), el('td', { class: 'mono', text: `${c.type}.${c.field}` }), el('td', { text: c.partner }), el('td', { text: `${c.from} → ${c.to}` }), el('td', { text: String(c.count) }))));
      return el('div', { class: 'shadow' },
        el('h3', { text: `${report.nation} v${report.version} in shadow since ${when(report.since)}` }),
        el('p', { class: 'help', text: `${report.compared} answers compared, ${report.changed} would have changed.` }),
        rows.length
          ? el('table', { class: 'table' },
            el('thead', {}, el('tr', {}, ...['Rule', 'Type.field', 'Partner', 'From → to', 'Times'].map((h) => el('th', { scope: 'col', text: h })))),
            el('tbody', {}, rows))
          : el('p', { class: 'help', text: 'No difference yet.' }));
    }),
  );
}

// ---------------------------------------------------------------- tabs and wiring

function selectTab(id) {
  for (const tab of document.querySelectorAll('[role=tab]')) {
    const selected = tab.id === id;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(tab.getAttribute('aria-controls')).hidden = !selected;
  }
  if (id === 'tab-feeds') loadFeeds().catch(() => {});
}

function wire() {
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim().replace(/^Bearer\s+/i, '');
    if (token) signIn(token);
  });
  $('sign-out').addEventListener('click', () => signOut());
  for (const tab of document.querySelectorAll('[role=tab]')) tab.addEventListener('click', () => selectTab(tab.id));
  $('draft').addEventListener('input', () => {
    if (state.viewing) return;
    state.draftText = $('draft').value;
    renderGutter();
    scheduleValidation();
  });
  $('draft').addEventListener('scroll', () => ($('gutter').scrollTop = $('draft').scrollTop));
  $('back-to-draft').addEventListener('click', backToDraft);
  $('reset-draft').addEventListener('click', () => openDraft(state.own?.text ?? $('draft').value));
  $('key-file').addEventListener('change', () => {
    const file = $('key-file').files?.[0];
    if (file) loadKey(file);
  });
  $('signed-by').addEventListener('input', updatePublishable);
  $('next-version').addEventListener('input', () => {
    $('next-version').dataset.touched = '1';
    updatePublishable();
  });
  $('write-version').addEventListener('click', () => {
    if (state.viewing) backToDraft();
    $('draft').value = withVersion($('draft').value, Number($('next-version').value));
    state.draftText = $('draft').value;
    renderGutter();
    scheduleValidation(0);
  });
  $('publish').addEventListener('click', () => publish(false));
  $('publish-shadow').addEventListener('click', () => publish(true));
  const saved = $('saved-query');
  saved.replaceChildren(...SAVED_QUERIES.map((q, i) => el('option', { value: String(i), text: q.name })), el('option', { value: 'custom', text: 'My own query (type it below)' }));
  saved.addEventListener('change', () => {
    if (saved.value !== 'custom') $('query').value = SAVED_QUERIES[Number(saved.value)].query;
  });
  $('query').value = SAVED_QUERIES[0].query;
  $('query').addEventListener('input', () => (saved.value = 'custom'));
  $('seeas-form').addEventListener('submit', runSeeAs);
  $('refresh-feeds').addEventListener('click', () => loadFeeds().catch(() => {}));
}

wire();
const remembered = sessionStorage.getItem(TOKEN_KEY);
if (remembered) signIn(remembered);
