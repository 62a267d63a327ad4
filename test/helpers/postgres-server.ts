/**
 * vitest globalSetup: a real PostgreSQL server for the tests that need one (replicas of a nation
 * sharing one database), started on a free loopback port in a throwaway cluster and stopped after
 * the run; and `startThrowawayPostgres` for a test that needs a server of its own to restart. TEST_DATABASE_URL, when set, names a server to use instead. On a machine without the
 * server binaries, Debian's package is installed (CI runs as root with Debian's packages reachable).
 */
import { execFile, execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const PG_ROOT = '/usr/lib/postgresql';
// cwd "/": the server's user cannot enter a checkout in a private temporary folder, and said so on every command.
const QUIET: ExecFileSyncOptions = { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000, cwd: '/' };

export default async function startPostgres(): Promise<(() => void) | undefined> {
  if (process.env.TEST_DATABASE_URL) return undefined;
  const server = await startThrowawayPostgres();
  process.env.TEST_DATABASE_URL = server.url;
  return () => server.dispose();
}

export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, the same across stop and start. */
  url: string;
  /** Stops the server (fast shutdown: sessions are ended) and resolves once it is down. */
  stop(): Promise<void>;
  /** Starts it again on the same port and resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it at once and removes its cluster. */
  dispose(): void;
}

/**
 * A PostgreSQL server of its own on a free loopback port, in a throwaway cluster: the suite's
 * global one, or one a test may stop and start (other files share the global one).
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const bin = serverBinaries() ?? installServer();
  const isRoot = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root: as root, the cluster belongs to the package's own user.
  const asServerUser = (command: string, args: string[]) => (isRoot ? execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], QUIET) : execFileSync(command, args, QUIET));
  const dir = mkdtempSync(join(tmpdir(), 'sovgraph-pg-'));
  if (isRoot) {
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'])), Number(execFileSync('id', ['-g', 'postgres'])));
  }
  chmodSync(dir, 0o700);
  const port = await freePort();
  const pgCtl = (...args: string[]) => asServerUser(join(bin, 'pg_ctl'), ['-D', dir, ...args]);
  asServerUser(join(bin, 'initdb'), ['-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const startArgs = ['-l', join(dir, 'server.log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'];
  pgCtl(...startArgs);
  // Stop and start do not block the event loop: a test's own gateway keeps answering meanwhile.
  const pgCtlAsync = async (...args: string[]) => {
    const [command, ...rest] = isRoot ? ['runuser', '-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', dir, ...args] : [join(bin, 'pg_ctl'), '-D', dir, ...args];
    await promisify(execFile)(command!, rest, { timeout: 120_000, cwd: '/' });
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => pgCtlAsync('-m', 'fast', '-w', 'stop'),
    start: () => pgCtlAsync(...startArgs),
    dispose() {
      try {
        pgCtl('-m', 'immediate', '-w', 'stop');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The newest installed server's bin directory, if any. */
function serverBinaries(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(PG_ROOT, versions[0], 'bin');
}

function installServer(): string {
  if (process.getuid?.() !== 0) throw new Error('the tests need a PostgreSQL server: install Debian\'s postgresql package, or set TEST_DATABASE_URL');
  console.log('[tests] no PostgreSQL server binaries: installing Debian\'s postgresql package (apt-get)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env, timeout: 10 * 60_000 });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { stdio: ['ignore', 'inherit', 'inherit'], env, timeout: 10 * 60_000 });
  const bin = serverBinaries();
  if (!bin) throw new Error(`apt-get installed postgresql but no server is under ${PG_ROOT}`);
  return bin;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
