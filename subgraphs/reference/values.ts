/** Small helpers the two loaders share for checking input and naming bad values in messages. */
import { readFileSync } from 'node:fs';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, bounded rendering of a bad value: enough to recognise it, never a whole object. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Reads a JSON file, or throws `makeError` with a message naming the file and what went wrong. */
export function readJsonFile(path: string, what: string, makeError: (message: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw makeError(`${path}: cannot read the ${what} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw makeError(`${path}: the ${what} is not valid JSON (${(error as Error).message})`);
  }
}
