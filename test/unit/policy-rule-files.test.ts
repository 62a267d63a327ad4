/**
 * Rule files: the demo files load, and a policy officer's mistakes come back as errors naming the
 * file, the line and the rule, all of them at once.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIssue, loadRuleFolder, parseRuleFile, RuleFileError, type RuleFileIssue } from '../../policies';

const RULES_DIR = fileURLToPath(new URL('../../policies/rules', import.meta.url));

/** The issues parsing `text` as `file` raises (none if it parses). */
function issuesOf(text: string, file = 'FRA.yaml'): RuleFileIssue[] {
  try {
    parseRuleFile(text, file);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(RuleFileError);
    return (error as RuleFileError).issues;
  }
}

/** A valid file with one good rule; tests append broken rules after it. Lines 1–8. */
const HEAD = `nation: FRA
version: 3
rules:
  - id: release-what-markings-allow
    description: What passes the marking baseline is released.
    match: { types: ["*"], fields: ["*"] }
    effect: allow
`;

describe('the demo rule files', () => {
  it('all load, one per nation and the coalition\'s, each with rules', () => {
    const files = loadRuleFolder(RULES_DIR);
    expect(files.map((f) => f.nation).sort()).toEqual(['COALITION', 'DEU', 'EST', 'FRA', 'GBR', 'USA']);
    for (const file of files) expect(file.rules.length, file.nation).toBeGreaterThan(0);
  });

  it('each parses on its own, its file name matching the nation it declares', () => {
    for (const name of readdirSync(RULES_DIR).filter((f) => f.endsWith('.yaml'))) {
      const file = parseRuleFile(readFileSync(join(RULES_DIR, name), 'utf8'), name);
      expect(name.replace(/\.yaml$/, '').toUpperCase(), name).toBe(file.nation);
    }
  });
});

describe('a bad rule file', () => {
  it('with an unknown effect: the file, the line of the effect and the rule', () => {
    const issues = issuesOf(`${HEAD}  - id: hide-sources
    description: Sources stay home.
    match: { types: [Indicator], fields: [source] }
    effect: forbid
`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'FRA.yaml', line: 11, rule: 'hide-sources' });
    expect(issues[0]!.message).toMatch(/effect/);
    expect(formatIssue(issues[0]!)).toMatch(/^FRA\.yaml:11 \(rule hide-sources\): /);
  });

  it('with a transform effect but no transform name: the file, the line of the rule and the rule', () => {
    const issues = issuesOf(`${HEAD}  - id: ips-to-slash24
    description: Generalise addresses.
    match: { types: [Indicator], fields: [observable] }
    effect: transform
`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'FRA.yaml', line: 8, rule: 'ips-to-slash24' });
    expect(issues[0]!.message).toMatch(/transform/);
  });

  it('with a transform name on a deny, or an unknown transform: the same error or an unknown-name one', () => {
    const issues = issuesOf(`${HEAD}  - id: deny-with-transform
    description: Confused.
    match: { types: [Indicator], fields: [observable] }
    effect: deny
    transform: ipv4-slash24
  - id: unknown-transform
    description: No such generaliser.
    match: { types: [Indicator], fields: [observable] }
    effect: transform
    transform: ipv6-slash48
`);
    expect(issues.map((i) => [i.rule, i.line])).toEqual([
      ['deny-with-transform', 12],
      ['unknown-transform', 17],
    ]);
  });

  it('with a key the schema does not know: the file, the line of the map holding it and the rule', () => {
    const issues = issuesOf(`${HEAD}  - id: hide-sources
    description: Sources stay home.
    match: { types: [Indicator], fields: [source] }
    when:
      principal: { nation: [DEU] }
    effect: deny
`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'FRA.yaml', line: 12, rule: 'hide-sources' });
    expect(issues[0]!.message).toMatch(/nation/);
  });

  it('with a misspelt top-level rule key: the rule and its line', () => {
    const issues = issuesOf(`${HEAD}  - id: hide-sources
    description: Sources stay home.
    matches: { types: [Indicator], fields: [source] }
    effect: deny
`);
    expect(issues.map((i) => [i.rule, i.line])).toContainEqual(['hide-sources', 8]);
    expect(issues.map((i) => i.message).join('\n')).toMatch(/matches/);
  });

  it('with a nation code that is not ISO 3166 alpha-3: the file, the line and the rule', () => {
    const issues = issuesOf(`${HEAD}  - id: hide-sources
    description: Sources stay home.
    match: { types: [Indicator], fields: [source] }
    when: { principal: { notNations: [fr] } }
    effect: deny
`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'FRA.yaml', line: 11, rule: 'hide-sources' });
    expect(issues[0]!.message).toMatch(/alpha-3/);
  });

  it('declaring a nation that is not a nation code: the file and line 1, no rule', () => {
    const issues = issuesOf(HEAD.replace('nation: FRA', 'nation: France'));
    expect(issues).toEqual([expect.objectContaining({ file: 'FRA.yaml', line: 1, rule: undefined })]);
  });

  it('with a rule id used twice: the file, the line of the second id and the rule', () => {
    const issues = issuesOf(`${HEAD}  - id: release-what-markings-allow
    description: Again.
    match: { types: ["*"], fields: ["*"] }
    effect: deny
`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'FRA.yaml', line: 8, rule: 'release-what-markings-allow' });
    expect(issues[0]!.message).toMatch(/twice/);
  });

  it('with a YAML syntax error: the file and the line', () => {
    const issues = issuesOf(`${HEAD}  - id: hide-sources
    description: Sources stay home.
    match: { types: [Indicator], fields: [source]
    effect: deny
`);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]!.file).toBe('FRA.yaml');
    expect(issues[0]!.message).toMatch(/^YAML: /);
    expect([10, 11]).toContain(issues[0]!.line);
  });

  it('with several mistakes: every one of them at once, each with its line and rule', () => {
    const issues = issuesOf(`${HEAD}  - id: bad-effect
    description: Unknown effect.
    match: { types: [Indicator], fields: [source] }
    effect: forbid
  - id: no-transform-name
    description: Transform without a name.
    match: { types: [Indicator], fields: [observable] }
    effect: transform
  - id: bad-nation
    description: Lower-case code.
    match: { types: [Indicator], fields: [source] }
    when: { principal: { notNations: [fr] } }
    effect: deny
  - id: unknown-key
    description: A key nobody knows.
    match: { types: [Indicator], fields: [source] }
    colour: red
    effect: deny
`);
    expect(issues.map((i) => [i.rule, i.line]).sort()).toEqual(
      [
        ['bad-effect', 11],
        ['no-transform-name', 12],
        ['bad-nation', 19],
        ['unknown-key', 21],
      ].sort(),
    );
  });

  it('with a duplicate id and another mistake: both at once', () => {
    const issues = issuesOf(`${HEAD}  - id: release-what-markings-allow
    description: Again.
    match: { types: ["*"], fields: ["*"] }
    effect: deny
  - id: bad-effect
    description: Unknown effect.
    match: { types: [Indicator], fields: [source] }
    effect: forbid
`);
    expect(issues.map((i) => [i.rule, i.line])).toEqual(
      expect.arrayContaining([
        ['release-what-markings-allow', 8],
        ['bad-effect', 15],
      ]),
    );
  });
});

describe('a rule folder', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('with two bad files: the issues of both, each naming its file, and the good files do not hide them', () => {
    dir = mkdtempSync(join(tmpdir(), 'sovgraph-rules-'));
    writeFileSync(join(dir, 'DEU.yaml'), readFileSync(join(RULES_DIR, 'DEU.yaml'), 'utf8'));
    writeFileSync(join(dir, 'FRA.yaml'), `${HEAD}  - id: bad-effect\n    description: x\n    match: { types: ["*"], fields: ["*"] }\n    effect: forbid\n`);
    writeFileSync(join(dir, 'EST.yaml'), HEAD.replace('FRA', 'EST').replace('version: 3', 'version: 0'));
    writeFileSync(join(dir, 'notes.txt'), 'not a rule file');
    let caught: unknown;
    try {
      loadRuleFolder(dir);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RuleFileError);
    const issues = (caught as RuleFileError).issues;
    expect(issues.map((i) => [i.file, i.line, i.rule])).toEqual([
      ['EST.yaml', 2, undefined],
      ['FRA.yaml', 11, 'bad-effect'],
    ]);
    // The message a policy officer reads lists them all, one a line.
    expect((caught as RuleFileError).message.split('\n')).toHaveLength(2);
    expect((caught as RuleFileError).message).toMatch(/^EST\.yaml:2: version/m);
    expect((caught as RuleFileError).message).toMatch(/^FRA\.yaml:11 \(rule bad-effect\): /m);
  });
});
