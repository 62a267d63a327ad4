/**
 * The policy console: a static page (no framework, no build step) that policy officers open at
 * `/console`. It talks only to the gateway's `/policy/*` endpoints, with the officer's token on every
 * call; the static files themselves need no token. Signing happens in the browser with the
 * officer's own key file and `jose`, served read-only from node_modules: the gateway never signs.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Route } from '../http-adapter';

const PAGE_DIR = dirname(fileURLToPath(import.meta.url));
/** jose's browser build (Web Crypto): `dist/webapi/index.js`, which is what `jose` resolves to. */
const JOSE_DIR = dirname(createRequire(import.meta.url).resolve('jose'));
export const JOSE_PREFIX = '/console/vendor/jose/';

/** Self only: no inline script or style, no other origin, no framing. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

export function consoleRoutes(): Record<string, Route> {
  const page = (file: string): Route => (req, res) => serveFile(req, res, join(PAGE_DIR, file));
  return {
    '/console': page('console.html'),
    '/console/': page('console.html'),
    '/console/console.css': page('console.css'),
    '/console/console.js': page('console.js'),
    '/console/vendor/jose/*': (req, res) => {
      const file = joseFile(req.url ?? '/');
      if (!file) return sendText(res, 404, 'not found');
      return serveFile(req, res, file);
    },
  };
}

/** The file under jose's webapi folder a request names, or undefined for anything else (traversal included). */
export function joseFile(rawUrl: string): string | undefined {
  const pathname = rawUrl.split(/[?#]/, 1)[0]!;
  if (!pathname.startsWith(JOSE_PREFIX)) return undefined;
  const segments = pathname.slice(JOSE_PREFIX.length).split('/');
  const names: string[] = [];
  for (const segment of segments) {
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    if (!name || name === '.' || name === '..' || /[\\/\0:]/.test(name) || name.startsWith('.')) return undefined;
    names.push(name);
  }
  if (!names.length || !names[names.length - 1]!.endsWith('.js')) return undefined;
  const file = resolve(JOSE_DIR, ...names);
  if (!file.startsWith(JOSE_DIR + sep)) return undefined;
  return file;
}

async function serveFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendText(res, 405, 'the console is read-only: GET it');
  }
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch {
    return sendText(res, 404, 'not found');
  }
  const type = TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';
  res.writeHead(200, { ...securityHeaders(), 'content-type': type, 'content-length': content.length, 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : content);
}

function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...securityHeaders(), 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
