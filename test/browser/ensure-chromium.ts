/**
 * vitest globalSetup for the browser tests: they drive Debian's Chromium (/usr/bin/chromium) with
 * playwright-core, never a downloaded browser. On a clean machine (CI runs as root with Debian
 * packages reachable) it installs the package once; anywhere else it fails with what to do.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

export default function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = !isRoot && existsSync('/usr/bin/sudo') ? ['sudo', '-n'] : [];
  if (!isRoot && !sudo.length) {
    throw new Error(`the browser tests need Chromium at ${CHROMIUM}: install Debian's package as root (apt-get install -y --no-install-recommends chromium)`);
  }
  const run = (args: string[]) => {
    const [command, ...rest] = [...sudo, ...args];
    execFileSync(command!, rest, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 15 * 60_000 });
  };
  console.log(`[browser tests] ${CHROMIUM} is missing: installing Debian's chromium package (apt-get)…`);
  try {
    run(['apt-get', 'update']);
    run(['apt-get', 'install', '-y', '--no-install-recommends', 'chromium']);
  } catch (error) {
    throw new Error(`the browser tests need Chromium at ${CHROMIUM} and installing it failed (${(error as Error).message}): run apt-get install -y --no-install-recommends chromium as root`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
}
