/**
 * Sealed cursors. A nation's cursor is its sort key in clear (`<time>|<id>`): the gateway needs it so
 * to merge pages, but the time is a field value (validFrom, lastSeen…) that a rule may withhold or
 * generalise. So the gateway seals every cursor it hands out (AES-256-GCM, node:crypto: a standard
 * AEAD, nothing hand-made) and opens the `after` it gets back; a client sees opaque text it cannot
 * read or forge. Replicas behind one load balancer must share the key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GraphQLError, Kind, visit, type ArgumentNode, type DocumentNode } from 'graphql';

const PREFIX = 'sg1.';

export interface CursorSeal {
  seal(cursor: string): string;
  /** The nation cursor inside, or undefined when the text is not a cursor this key sealed. */
  open(sealed: string): string | undefined;
}

/** `key`: 32 bytes; omitted, a random key (cursors then last as long as the process). */
export function createCursorSeal(key: Buffer = randomBytes(32)): CursorSeal {
  if (key.length !== 32) throw new Error(`the cursor key must be 32 bytes (got ${key.length})`);
  const nextIv = randomIvs();
  // The first pages of a list are asked for again and again (a dashboard, the benchmark): a cursor
  // sealed once is handed out again rather than sealed anew (a cipher set up per cursor cost a third
  // of the walk). It says no more: the same position gets the same text, as the edge's node says anyway.
  const sealed = new Map<string, string>();
  const sealOnce = (cursor: string): string => {
    const iv = nextIv();
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(cursor, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  };
  return {
    seal(cursor) {
      let text = sealed.get(cursor);
      if (text === undefined) {
        if (sealed.size >= SEALED_CACHE_SIZE) sealed.clear();
        sealed.set(cursor, (text = sealOnce(cursor)));
      }
      return text;
    },
    open(text) {
      if (!text.startsWith(PREFIX)) return undefined;
      const raw = Buffer.from(text.slice(PREFIX.length), 'base64url');
      if (raw.length < 29) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/** Sealed cursors kept for reuse (about 150 bytes each). */
const SEALED_CACHE_SIZE = 20_000;
const IV_BYTES = 12;
const IVS_PER_DRAW = 1024;

/**
 * Random 96-bit GCM nonces, drawn from the system 1,024 at a time: a page of 50 edges seals 51
 * cursors, and one draw per cursor cost more than the sealing itself. Still random, never reused.
 */
function randomIvs(): () => Buffer {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset === pool.length) {
      pool = randomBytes(IV_BYTES * IVS_PER_DRAW);
      offset = 0;
    }
    const iv = pool.subarray(offset, offset + IV_BYTES);
    offset += IV_BYTES;
    return iv;
  };
}

export class CursorRejected extends GraphQLError {
  constructor(where: string) {
    super(`${where}: not a cursor this gateway issued (pass back an edge's cursor or pageInfo.endCursor unchanged)`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
}

/**
 * Opens every `after` argument of the operation: literals in the document, variables in `variables`.
 * Throws CursorRejected naming the argument when one is not a sealed cursor.
 */
export function openCursorArguments(document: DocumentNode, variables: Record<string, unknown> | undefined, seal: CursorSeal): { document: DocumentNode; variables: Record<string, unknown> | undefined } {
  if (!takesAfter(document)) return { document, variables };
  let opened = variables;
  const openedNames = new Set<string>();
  const rewritten = visit(document, {
    Argument(node): ArgumentNode | undefined {
      if (node.name.value !== 'after') return undefined;
      if (node.value.kind === Kind.STRING) {
        const cursor = seal.open(node.value.value);
        if (cursor === undefined) throw new CursorRejected('argument "after"');
        return { ...node, value: { ...node.value, value: cursor } };
      }
      if (node.value.kind === Kind.VARIABLE) {
        const name = node.value.name.value;
        const value = opened?.[name];
        if (typeof value !== 'string' || openedNames.has(name)) return undefined;
        openedNames.add(name);
        const cursor = seal.open(value);
        if (cursor === undefined) throw new CursorRejected(`variable "$${name}"`);
        opened = { ...opened, [name]: cursor };
      }
      return undefined;
    },
  });
  return { document: rewritten, variables: opened };
}

/**
 * Whether any field of a document takes an `after` argument. The server hands every request that
 * sends a query the same parsed document, and most ask for a first page: they skip the visit.
 */
const afterTaken = new WeakMap<DocumentNode, boolean>();
function takesAfter(document: DocumentNode): boolean {
  let takes = afterTaken.get(document);
  if (takes === undefined) {
    takes = false;
    visit(document, {
      Argument(node) {
        if (node.name.value === 'after') takes = true;
      },
    });
    afterTaken.set(document, takes);
  }
  return takes;
}
