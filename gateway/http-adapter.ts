/**
 * A small node:http front for Apollo Server: `/graphql` (token verified before anything runs),
 * `/health`, and room for the pages the gateway serves (exact paths, or a key ending in `/*` for
 * everything under it). No framework: this is the hot path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';

export type Route = (req: IncomingMessage, res: ServerResponse, body: string) => Promise<void> | void;

export interface GraphQLRoute<TContext extends BaseContext> {
  server: ApolloServer<TContext>;
  /** Builds the request context, or answers the request itself (e.g. 401) and returns undefined. */
  context(req: IncomingMessage, res: ServerResponse): Promise<TContext | undefined>;
}

const MAX_BODY_BYTES = 1 << 20;

export function createHttpServer<TContext extends BaseContext>(graphql: GraphQLRoute<TContext>, routes: Record<string, Route>): Server {
  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.end();
      console.error('[gateway] request failed:', (error as Error).message);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const body = await readBody(req);
    if (body === undefined) return sendJson(res, 413, { errors: [{ message: `request body over ${MAX_BODY_BYTES} bytes` }] });
    if (url.pathname === '/graphql') return serveGraphQL(req, res, url, body);
    const route = routes[url.pathname] ?? prefixRoute(routes, url.pathname);
    if (route) return route(req, res, body);
    sendJson(res, 404, { error: `nothing at ${url.pathname}: the GraphQL endpoint is /graphql` });
  }

  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<void> {
    const context = await graphql.context(req, res);
    if (!context) return;
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

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
