/**
 * The owner of a global id (`FRA:indicator--<uuid>` is held by FRA): how the fan-out routes an
 * object and whose rules the enforcement decides it by, in one place so the two cannot disagree.
 */
export function ownerOf(globalId: unknown): string | undefined {
  if (typeof globalId !== 'string') return undefined;
  const colon = globalId.indexOf(':');
  return colon === 3 ? globalId.slice(0, 3) : undefined;
}
