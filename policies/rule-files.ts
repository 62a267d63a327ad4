/**
 * Reads rule files (YAML) and validates them against the rule schema, with errors that name the
 * file, the line and the rule — what a policy officer needs to fix them.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { ruleFileSchema, type RuleFile } from './rule-schema';

export interface RuleFileIssue {
  file: string;
  line: number;
  /** The id of the rule the issue is in, when it is in one. */
  rule?: string;
  message: string;
}

export class RuleFileError extends Error {
  override readonly name = 'RuleFileError';
  constructor(readonly issues: RuleFileIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

export function formatIssue(issue: RuleFileIssue): string {
  return `${issue.file}:${issue.line}${issue.rule ? ` (rule ${issue.rule})` : ''}: ${issue.message}`;
}

export function parseRuleFile(text: string, file: string): RuleFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    throw new RuleFileError(doc.errors.map((e) => ({ file, line: lines.linePos(e.pos[0]).line, message: `YAML: ${e.message.split('\n')[0]}` })));
  }
  const data = doc.toJS() as { rules?: Array<{ id?: unknown }> } | null;
  const parsed = ruleFileSchema.safeParse(data);
  const duplicates = duplicateIds(data, file, doc.contents, lines);
  if (parsed.success && !duplicates.length) return parsed.data;
  throw new RuleFileError([
    ...duplicates,
    ...(parsed.success ? [] : parsed.error.issues).map((issue) => {
      const path = issue.path as (string | number)[];
      const ruleIndex = path[0] === 'rules' && typeof path[1] === 'number' ? path[1] : undefined;
      const ruleId = ruleIndex !== undefined ? data?.rules?.[ruleIndex]?.id : undefined;
      return {
        file,
        line: lineOf(doc.contents, path, lines),
        rule: typeof ruleId === 'string' ? ruleId : undefined,
        message: `${path.length ? `${path.join('.')}: ` : ''}${issue.message}`,
      };
    }),
  ].sort((a, b) => a.line - b.line));
}

function duplicateIds(data: { rules?: Array<{ id?: unknown }> } | null, name: string, root: unknown, lines: LineCounter): RuleFileIssue[] {
  const seen = new Set<string>();
  const issues: RuleFileIssue[] = [];
  (Array.isArray(data?.rules) ? data.rules : []).forEach((rule, index) => {
    const id = rule?.id;
    if (typeof id !== 'string') return;
    if (seen.has(id)) issues.push({ file: name, line: lineOf(root, ['rules', index, 'id'], lines), rule: id, message: 'rule id used twice in this file' });
    seen.add(id);
  });
  return issues;
}

/** The line of the deepest node the path still reaches (a missing key points at its parent). */
function lineOf(root: unknown, path: (string | number)[], lines: LineCounter): number {
  let node = root as Node | null | undefined;
  let line = 1;
  for (const key of path) {
    if (node?.range) line = lines.linePos(node.range[0]).line;
    if (isMap(node)) node = node.get(key, true) as Node | undefined;
    else if (isSeq(node)) node = node.get(key as number, true) as Node | undefined;
    else break;
  }
  if (node?.range) line = lines.linePos(node.range[0]).line;
  return line;
}

/** The rule files this repository ships: the demo nations' and the coalition's. */
export const DEFAULT_RULES_DIR = fileURLToPath(new URL('./rules', import.meta.url));

/** Every `*.yaml` rule file of a folder, validated; all issues of all files at once. */
export function loadRuleFolder(dir: string): RuleFile[] {
  const files: RuleFile[] = [];
  const issues: RuleFileIssue[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    try {
      files.push(parseRuleFile(readFileSync(join(dir, name), 'utf8'), name));
    } catch (error) {
      if (error instanceof RuleFileError) issues.push(...error.issues);
      else throw error;
    }
  }
  if (issues.length) throw new RuleFileError(issues);
  return files;
}
