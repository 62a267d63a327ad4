/**
 * The catalogue of named, type-preserving generalisers a rule may apply. Small on purpose: each one
 * is easy to reason about, and one that cannot apply to a value fails closed (the field is withheld).
 */
export const TRANSFORM_NAMES = ['ipv4-slash24', 'timestamp-day', 'first-sentence', 'location-country'] as const;
export type TransformName = (typeof TRANSFORM_NAMES)[number];

/** Returned when a generaliser does not apply to a value: the caller must withhold it. */
export const NOT_APPLICABLE = Symbol('not applicable');

type Generaliser = (value: unknown) => unknown;

/**
 * For the generalisers that apply to objects: the properties they keep (every other one is blanked).
 * A server that resolves objects field by field applies them this way.
 */
export const KEPT_FIELDS: Readonly<Partial<Record<TransformName, readonly string[]>>> = { 'location-country': ['country'] };

const IPV4_ANYWHERE = /\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/\d{1,2})?\b/g;

const generalisers: Record<TransformName, Generaliser> = {
  /** Every IPv4 in the value → its /24 (203.0.113.7 → 203.0.113.0/24); a value with none is left as it is. */
  'ipv4-slash24': (value) => {
    if (typeof value !== 'string') return NOT_APPLICABLE;
    return value.replace(IPV4_ANYWHERE, (whole, a, b, c, d) => ([a, b, c, d].every((o) => Number(o) <= 255) ? `${a}.${b}.${c}.0/24` : whole));
  },
  /** 2026-11-03T14:22:05.120Z → 2026-11-03T00:00:00.000Z */
  'timestamp-day': (value) => {
    if (typeof value !== 'string') return NOT_APPLICABLE;
    const time = Date.parse(value);
    if (Number.isNaN(time)) return NOT_APPLICABLE;
    return `${new Date(time).toISOString().slice(0, 10)}T00:00:00.000Z`;
  },
  /** Keeps the first sentence of a free text. */
  'first-sentence': (value) => {
    if (typeof value !== 'string') return NOT_APPLICABLE;
    const match = value.match(/^[\s\S]*?[.!?](?=\s|$)/);
    return (match ? match[0] : value).trim();
  },
  /** A place → only its country: every other property of the object is blanked. */
  'location-country': (value) => {
    if (Array.isArray(value)) return value.map((v) => generalisers['location-country'](v));
    if (typeof value !== 'object' || value === null) return NOT_APPLICABLE;
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, KEPT_FIELDS['location-country']!.includes(key) ? v : null]));
  },
};

export function applyTransform(name: TransformName, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  const result = generalisers[name](value);
  if (Array.isArray(result) && result.includes(NOT_APPLICABLE)) return NOT_APPLICABLE;
  return result;
}

export const REDACTED = '[REDACTED]';

/** The fixed mask: strings (and lists of strings) show REDACTED; anything else is masked as null. */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return REDACTED;
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? REDACTED : null));
  return null;
}
