/**
 * A deployment's gateway settings, from one YAML (or JSON) file named by SOVGRAPH_GATEWAY_SETTINGS:
 * the operation limits, fair share, the nations' circuits and their timeout. Unknown keys are
 * refused (a misspelt limit must not silently leave the default in force); each value is checked
 * by the gateway when it starts, which names the setting it refuses.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { GatewayConfig } from '../server';

export const SETTINGS_FILE_VARIABLE = 'SOVGRAPH_GATEWAY_SETTINGS';

export type GatewaySettings = Pick<GatewayConfig, 'limits' | 'fairShare' | 'circuit' | 'nationTimeoutMs'>;

const SECTIONS = ['limits', 'fairShare', 'circuit'] as const;
const NUMBERS = ['nationTimeoutMs'] as const;

export class SettingsFileError extends Error {
  override readonly name = 'SettingsFileError';
}

export function readGatewaySettings(path: string): GatewaySettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SettingsFileError(`${path}: cannot read the gateway settings (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length) throw new SettingsFileError(`${path}: ${document.errors[0]!.message}`);
  const raw: unknown = document.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SettingsFileError(`${path}: must hold a mapping of ${[...SECTIONS, ...NUMBERS].join(', ')}`);
  const settings: GatewaySettings = {};
  for (const [key, value] of Object.entries(raw)) {
    const line = lineOf(document, text, key);
    if ((SECTIONS as readonly string[]).includes(key)) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SettingsFileError(`${path}:${line}: "${key}" must be a mapping of settings`);
      Object.assign(settings, { [key]: value });
    } else if ((NUMBERS as readonly string[]).includes(key)) {
      if (!Number.isInteger(value) || (value as number) < 1) throw new SettingsFileError(`${path}:${line}: "${key}" must be a positive integer (got ${JSON.stringify(value)})`);
      Object.assign(settings, { [key]: value });
    } else {
      throw new SettingsFileError(`${path}:${line}: unknown setting "${key}" (known: ${[...SECTIONS, ...NUMBERS].join(', ')})`);
    }
  }
  return settings;
}

/** The 1-based line of a top-level key, for the error. */
function lineOf(document: ReturnType<typeof parseDocument>, text: string, key: string): number {
  const contents = document.contents as { items?: Array<{ key?: { value?: unknown; range?: [number, number, number] } }> } | null;
  const offset = contents?.items?.find((item) => item.key?.value === key)?.key?.range?.[0] ?? 0;
  return text.slice(0, offset).split('\n').length;
}
