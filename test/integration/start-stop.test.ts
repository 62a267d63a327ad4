/**
 * `npm start` as an operator's process manager runs it: started, asked, then stopped with SIGTERM
 * sent to its process alone (not to its group, as a terminal's Ctrl-C would). Every process of the
 * coalition must be gone, and the command must exit 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dataDir = mkdtempSync(join(tmpdir(), 'sovgraph-start-stop-'));
/** Whatever is still running when the test ends (it failed): killed, so nothing outlives the suite. */
const started: number[] = [];
afterAll(() => {
  for (const pid of started.filter(alive)) process.kill(pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every live process whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `npm start`'s command on free ports; resolves once it is up, with its subgraph processes. */
async function startCoalitionCommand(dir: string) {
  const command = spawn(process.execPath, ['--import', 'tsx', 'gateway/cli/start-coalition.ts'], {
    cwd: process.cwd(),
    // As an operator runs it: not under NODE_ENV=test, which the test runner sets (Apollo acts on it).
    env: { ...process.env, NODE_ENV: 'production', SOVGRAPH_DATA: dir, PORT: '0', SOVGRAPH_SEED_SIZE: '20' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  command.stdout.on('data', (chunk) => (output += chunk));
  command.stderr.on('data', (chunk) => (output += chunk));
  started.push(command.pid!);
  const exited = new Promise<number | string | null>((resolve) => command.once('exit', (code, signal) => resolve(code ?? signal)));
  await expect.poll(() => output, { timeout: 90_000, interval: 200 }).toMatch(/sovgraph is up/);
  const gateway = output.match(/GraphQL endpoint\s+(\S+)/)![1]!;
  const subgraphs = childrenOf(command.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('subgraphs/cli/'));
  started.push(...subgraphs);
  return { command, exited, gateway, subgraphs };
}

describe('an operator stops the coalition with SIGTERM', () => {
  it('the gateway, the reference subgraph and all five nations exit, and so does the command, with 0', async () => {
    const { command, exited, gateway, subgraphs } = await startCoalitionCommand(dataDir);
    expect((await fetch(gateway.replace('/graphql', '/health'))).status).toBe(200);
    expect(subgraphs.length).toBe(6); // five nations and the reference subgraph

    command.kill('SIGTERM');
    const within = new Promise<string>((resolve) => setTimeout(() => resolve('still running 20 s after SIGTERM'), 20_000).unref());
    expect(await Promise.race([exited, within])).toBe(0);
    await expect.poll(() => subgraphs.filter(alive), { timeout: 10_000 }).toEqual([]);
  }, 120_000);
});

describe('the launcher dies without stopping anything (killed, or crashed)', () => {
  it('every subgraph it started notices and stops within seconds: no nation is left holding its port and silo', async () => {
    const { command, exited, subgraphs } = await startCoalitionCommand(dataDir);
    expect(subgraphs.length).toBe(6);
    command.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    await expect.poll(() => subgraphs.filter(alive), { timeout: 15_000 }).toEqual([]);
  }, 120_000);
});
