/**
 * How a subgraph process stops: on SIGINT or SIGTERM, and, when the launcher that started it says
 * so (`SOVGRAPH_STOP_WITH_PARENT=1`, with a pipe for stdin), when that launcher is gone — a launcher
 * that crashed or was killed must not leave nations running on their ports and silos.
 */
export const STOP_WITH_PARENT = 'SOVGRAPH_STOP_WITH_PARENT';

export function stopOnSignals(label: string, stop: () => Promise<void>): void {
  let stopping = false;
  const stopFor = async (why: string) => {
    if (stopping) process.exit(1); // asked again: stop waiting
    stopping = true;
    console.error(`${label} ${why}: stopping`);
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stopFor('SIGINT'));
  process.on('SIGTERM', () => void stopFor('SIGTERM'));
  if (process.env[STOP_WITH_PARENT] === '1') {
    // The launcher holds the other end of stdin: it closes when the launcher exits, however.
    process.stdin.on('end', () => void stopFor('launcher gone')).resume();
  }
}
