/**
 * Filters that name another object: `sightings(filter: { sightingOf: <indicator id> })`. The
 * nations holding the sightings cannot judge another nation's indicator, so before the operation
 * runs the gateway asks the indicator's owner for it (by id, decided again here like any answer)
 * and, when the caller may not see it, sends the filter an id that names nothing instead. Every
 * request with such a filter takes the same path — one look-up, then the fan-out — whether the
 * indicator is visible, hidden or absent: hidden and absent answer the same empty page in the same
 * time class, and a visible one answers its sightings.
 */
import { Kind, parse, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type ObjectValueNode, type StringValueNode } from 'graphql';

/** Where a filter's indicator id was written: a literal of the document, or a variable. */
export type NamedReference =
  | { id: string; literal: StringValueNode }
  | { id: string; variable: string; within?: 'sightingOf' };

const LIST = 'sightings';
const FIELD = 'sightingOf';
/** An indicator id no silo holds: a hidden or absent indicator is replaced by it. */
const NOTHING = 'indicator--00000000-0000-0000-0000-000000000000';

/**
 * Whether any `sightings` field of the document takes a filter: worked out once per parsed document,
 * so the typed walk below runs only for documents that may name an indicator.
 */
export function filtersSightings(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === LIST && node.arguments?.some((a) => a.name.value === 'filter')) found = true;
    },
  });
  return found;
}

/** Every indicator id a `sightings` root field's filter names, with where it was written. */
export function namedReferences(document: DocumentNode, typeInfo: TypeInfo, variables: Readonly<Record<string, unknown>> | undefined): NamedReference[] {
  const found: NamedReference[] = [];
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.name.value !== LIST || typeInfo.getParentType()?.name !== 'Query') return;
        const filter = node.arguments?.find((a) => a.name.value === 'filter')?.value;
        if (filter?.kind === Kind.VARIABLE) {
          const value = (variables?.[filter.name.value] as Record<string, unknown> | null | undefined)?.[FIELD];
          if (typeof value === 'string') found.push({ id: value, variable: filter.name.value, within: FIELD });
        } else if (filter?.kind === Kind.OBJECT) found.push(...inObject(filter, variables));
      },
    }),
  );
  return found;
}

function inObject(filter: ObjectValueNode, variables: Readonly<Record<string, unknown>> | undefined): NamedReference[] {
  const value = filter.fields.find((f) => f.name.value === FIELD)?.value;
  if (value?.kind === Kind.STRING) return [{ id: value.value, literal: value }];
  if (value?.kind === Kind.VARIABLE && typeof variables?.[value.name.value] === 'string') return [{ id: variables[value.name.value] as string, variable: value.name.value }];
  return [];
}

/** The id that names nothing, under the same owner prefix (the owner's silo then runs the same statement). */
export function unseenId(id: string): string {
  const owner = /^[A-Z]{3}:/.exec(id)?.[0];
  return owner ? `${owner}${NOTHING}` : id;
}

/**
 * The document and variables with every hidden reference replaced. A literal changes the document:
 * `changed` says which ones, for the plan cache's key (a handful of variants per query at most).
 */
export function withoutHidden(document: DocumentNode, variables: Record<string, unknown> | undefined, hidden: readonly NamedReference[]): { document: DocumentNode; variables: Record<string, unknown> | undefined; changed: string } {
  const literals = new Set(hidden.flatMap((h) => ('literal' in h ? [h.literal] : [])));
  let next = variables;
  for (const reference of hidden) {
    if (!('variable' in reference)) continue;
    next = { ...next };
    const name = reference.variable;
    next[name] = reference.within ? { ...(next[name] as Record<string, unknown>), [reference.within]: unseenId(reference.id) } : unseenId(reference.id);
  }
  if (literals.size === 0) return { document, variables: next, changed: '' };
  const positions: number[] = [];
  let index = 0;
  const replaced = visit(document, {
    StringValue(node) {
      index++;
      if (!literals.has(node)) return undefined;
      positions.push(index);
      return { ...node, value: unseenId(node.value) };
    },
  });
  return { document: replaced, variables: next, changed: positions.join(',') };
}

const checks = new Map<number, { text: string; document: DocumentNode }>();
export const REFERENCE_CHECK = 'SovgraphReferenceCheck';

/** `{ r0: indicator(id: $r0) { id } … }` for `count` ids: the owner answers each, by id. */
export function referenceCheck(count: number): { text: string; document: DocumentNode } {
  let check = checks.get(count);
  if (!check) {
    const ids = Array.from({ length: count }, (_, i) => `r${i}`);
    const text = `query ${REFERENCE_CHECK}(${ids.map((r) => `$${r}: ID!`).join(', ')}) { ${ids.map((r) => `${r}: indicator(id: $${r}) { id }`).join(' ')} }`;
    checks.set(count, (check = { text, document: parse(text) }));
  }
  return check;
}
