import type { AuditRecord } from './chain';

/**
 * One line for a record: who asked, which operation, how much was released and held back. Counts,
 * not object ids: the line is for a terminal or a feed, where the ids would say more than needed.
 */
export function summarizeAuditRecord({ seq, at, entry, hash }: AuditRecord): string {
  const { principal: who, operation } = entry;
  return [
    `#${seq}`,
    at,
    `${who.nation}/${who.subject} ${who.clearance}`,
    `${operation.name ?? '(anonymous)'} [query ${operation.queryHash.slice(0, 8)}]`,
    `released ${entry.released.length}, withheld ${entry.withheld.length}, redacted ${entry.redacted.length}, transformed ${entry.transformed.length}`,
    `hash ${hash.slice(0, 12)}`,
  ].join('  ');
}
