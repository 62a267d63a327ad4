/**
 * The HTTP front every sovgraph subgraph shares: plain node:http around Apollo Server (this is the
 * benchmark's hot path), one GraphQL path, and no work at all for a request without a principal
 * assertion the gateway signed for this subgraph.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { ASSERTION_HEADER, AssertionError, type AssertionVerifier, type Principal } from '../../policies';

const MAX_BODY_BYTES = 1 << 20;

export interface AssertedFront<TContext extends BaseContext> {
  /** Names the subgraph in errors and logs, e.g. `FRA subgraph`. */
  name: string;
  path: string;
  verify: AssertionVerifier;
  apollo: ApolloServer<TContext>;
  contextFor(principal: Principal): TContext;
}

export function assertedRequestHandler<TContext extends BaseContext>(front: AssertedFront<TContext>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    serve(front, req, res).catch((error: unknown) => {
      console.error(`[${front.name}] request failed:`, error);
      if (!res.headersSent) sendError(res, 500, `internal error in the ${front.name}`, 'INTERNAL_SERVER_ERROR');
      else res.end();
    });
  };
}

async function serve<TContext extends BaseContext>(front: AssertedFront<TContext>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (path !== front.path) return sendError(res, 404, `nothing at ${path}: the GraphQL endpoint is ${front.path}`, 'NOT_FOUND');

  // Who asks is settled before the body is even read: no assertion, no work.
  let principal: Principal;
  try {
    principal = await front.verify(singleHeader(req.headers[ASSERTION_HEADER]));
  } catch (error) {
    if (!(error instanceof AssertionError)) throw error;
    return sendError(res, 401, `${error.message} (header ${ASSERTION_HEADER})`, 'UNAUTHENTICATED');
  }

  const text = await readBody(req);
  if (text === undefined) return sendError(res, 413, `request body over ${MAX_BODY_BYTES} bytes`, 'BAD_REQUEST');
  const headers = headerMapOf(req);
  let body: unknown;
  if (req.method === 'POST' && headers.get('content-type')?.startsWith('application/json')) {
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      return sendError(res, 400, 'request body is not valid JSON', 'BAD_REQUEST');
    }
  }
  const response = await front.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: queryAt === -1 ? '' : url.slice(queryAt), body },
    context: async () => front.contextFor(principal),
  });
  res.statusCode = response.status ?? 200;
  for (const [key, value] of response.headers) res.setHeader(key, value);
  if (response.body.kind === 'complete') {
    // A known length spares chunked framing: the answer goes out in one write.
    const answer = Buffer.from(response.body.string, 'utf8');
    res.setHeader('content-length', answer.length);
    return void res.end(answer);
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function headerMapOf(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** The body as text, or undefined once it passes the limit (no subgraph needs a large request). */
export async function readBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
}

/** A JSON answer of known length, never cached: the policy and audit routes answer this way. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, code: string): void {
  const text = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function listen(http: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve((http.address() as AddressInfo).port);
    });
  });
}

/** Stops listening and drops open connections (keep-alive ones would hold the close up). */
export function closeServer(http: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
}
