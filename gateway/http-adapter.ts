/**
 * A small node:http front for Apollo Server: `/graphql` (token verified before anything runs, the
 * body included), `/health`, and room for the pages the gateway serves (exact paths, or a key ending
 * in `/*` for everything under it). No framework: this is the hot path. Every request's receiving is
 * bounded in size and time, so a client that sends slowly holds a connection for seconds, not forever.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';

export type Route = (req: IncomingMessage, res: ServerResponse, body: string) => Promise<void> | void;

export interface GraphQLRoute<TContext extends BaseContext> {
  server: ApolloServer<TContext>;
  /** Builds the request context, or answers the request itself (e.g. 401) and returns undefined. */
  context(req: IncomingMessage, res: ServerResponse): Promise<TContext | undefined>;
}

export interface HttpLimits {
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes: number;
  /** Time to receive the whole body once its request is being handled (408 with a JSON error beyond). */
  bodyTimeoutMs: number;
  /** Time to receive a request's headers; a client that never finishes them is dropped (node answers 408). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, node's own backstop behind the body deadline. */
  requestTimeoutMs: number;
  /** Open connections at once; node refuses the ones beyond. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxBodyBytes: 1 << 20,
  bodyTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  maxConnections: 4096,
};

/** How often node looks for connections past headersTimeout/requestTimeout (its default, 30 s, would let them linger). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

export function createHttpServer<TContext extends BaseContext>(graphql: GraphQLRoute<TContext>, routes: Record<string, Route>, limits: HttpLimits = DEFAULT_HTTP_LIMITS): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
        else res.end();
        console.error('[gateway] request failed:', (error as Error).message);
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  return server;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    if (url.pathname === '/graphql') return serveGraphQL(req, res, url);
    const body = await receiveBody(req, res);
    if (body === undefined) return;
    const route = routes[url.pathname] ?? prefixRoute(routes, url.pathname);
    if (route) return route(req, res, body);
    sendJson(res, 404, { error: `nothing at ${url.pathname}: the GraphQL endpoint is /graphql` });
  }

  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const context = await contextBeforeBody(req, res);
    if (!context) return;
    const body = await receiveBody(req, res);
    if (body === undefined) return;
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let parsedBody: unknown = body;
    if (req.method === 'POST' && headers.get('content-type')?.startsWith('application/json')) {
      try {
        parsedBody = body ? JSON.parse(body) : {};
      } catch {
        return sendJson(res, 400, { errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
      }
    }
    const response = await graphql.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body: parsedBody },
      context: async () => context,
    });
    res.statusCode = response.status ?? 200;
    for (const [key, value] of response.headers) res.setHeader(key, value);
    if (response.body.kind === 'complete') return void res.end(response.body.string);
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  /**
   * The token is in a header: it is checked before a byte of the body is read, so an unknown caller
   * cannot hold the gateway busy with a body. A refusal closes the connection rather than wait for it.
   */
  async function contextBeforeBody(req: IncomingMessage, res: ServerResponse): Promise<TContext | undefined> {
    const bodyPending = !req.complete;
    if (bodyPending) res.setHeader('connection', 'close');
    const context = await graphql.context(req, res);
    if (context && bodyPending && !res.headersSent) res.removeHeader('connection');
    return context;
  }

  /** The body, or undefined once the request has been answered (too large, too slow, abandoned). */
  async function receiveBody(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
    const received = await readBody(req, limits);
    if ('body' in received) return received.body;
    if (received.refused === 'abandoned' || res.destroyed) return undefined;
    res.setHeader('connection', 'close');
    if (received.refused === 'too-large') sendJson(res, 413, { errors: [{ message: `request body over ${limits.maxBodyBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    else sendJson(res, 408, { errors: [{ message: `request body not received within ${limits.bodyTimeoutMs / 1000} s: send the whole body at once`, extensions: { code: 'REQUEST_TIMEOUT' } }] });
    return undefined;
  }
}

/** A key ending in '/*' answers every path under it (the longest such prefix wins). */
function prefixRoute(routes: Record<string, Route>, pathname: string): Route | undefined {
  let best: string | undefined;
  for (const key of Object.keys(routes)) {
    if (!key.endsWith('/*')) continue;
    const prefix = key.slice(0, -1);
    if (pathname.startsWith(prefix) && (!best || prefix.length > best.length - 1)) best = key;
  }
  return best ? routes[best] : undefined;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

type BodyRefusal = 'too-large' | 'too-slow' | 'abandoned';

function readBody(req: IncomingMessage, limits: HttpLimits): Promise<{ body: string } | { refused: BodyRefusal }> {
  // A declared length over the limit is refused before a byte of it is read.
  if (Number(req.headers['content-length'] ?? 0) > limits.maxBodyBytes) {
    req.resume();
    return Promise.resolve({ refused: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: { body: string } | { refused: BodyRefusal }) => {
      clearTimeout(deadline);
      req.off('data', onData).off('end', onEnd).off('error', onAbandoned).off('close', onAbandoned);
      // Bytes still coming are drained and dropped; the connection closes after the answer.
      if ('refused' in result) req.resume();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) return finish({ refused: 'too-large' });
      chunks.push(chunk);
    };
    const onEnd = () => finish({ body: Buffer.concat(chunks).toString('utf8') });
    const onAbandoned = () => finish({ refused: 'abandoned' });
    const deadline = setTimeout(() => finish({ refused: 'too-slow' }), limits.bodyTimeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onAbandoned).on('close', onAbandoned);
  });
}
