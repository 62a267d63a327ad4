/**
 * Turns a connection's GraphQL arguments into a silo page request, refusing bad input with
 * BAD_USER_INPUT errors that name the argument, before any SQL runs.
 */
import { GraphQLError } from 'graphql';
import { decodeCursor, type PageRequest } from '../silo';
import type { QueryIndicatorsArgs } from '../contract/types.generated';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 500;

/** Every connection of the contract takes the same arguments. */
export type ConnectionArgs = QueryIndicatorsArgs;

export function badUserInput(argument: string, message: string): GraphQLError {
  return new GraphQLError(`Argument "${argument}" ${message}`, { extensions: { code: 'BAD_USER_INPUT', argument } });
}

/**
 * The request for one page of `types`, or undefined when the filter excludes this nation (the
 * answer is an empty page and the silo need not be asked).
 */
export function pageRequestOf(args: ConnectionArgs, types: readonly string[], nation: string): PageRequest | undefined {
  const request: PageRequest = { types, first: pageSizeOf(args.first) };
  if (args.after != null) request.after = cursorOf(args.after);
  const filter = args.filter;
  if (!filter) return request;
  if (filter.nations != null && !filter.nations.some((named) => named.toUpperCase() === nation)) return undefined;
  if (filter.since != null) request.since = timestampOf('filter.since', filter.since);
  if (filter.until != null) request.until = timestampOf('filter.until', filter.until);
  if (filter.technique != null) request.technique = techniqueOf(filter.technique);
  if (filter.sightingOf != null) {
    if (!types.includes('sighting')) throw badUserInput('filter.sightingOf', 'applies to sightings only');
    request.sightingOf = filter.sightingOf;
  }
  return request;
}

function pageSizeOf(first: number | null | undefined): number {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (size < 1 || size > MAX_PAGE_SIZE) throw badUserInput('first', `must be between 1 and ${MAX_PAGE_SIZE} (got ${size})`);
  return size;
}

function cursorOf(after: string) {
  const cursor = decodeCursor(after);
  if (!cursor) throw badUserInput('after', 'is not a cursor this API issued (expected "<UTC timestamp with microseconds>|<global id>")');
  return cursor;
}

const ISO_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** ISO 8601 date or date-time; without an offset it is UTC, whatever the database's time zone. */
function timestampOf(argument: string, value: string): string {
  const match = ISO_TIMESTAMP.exec(value.trim());
  if (!match) throw badUserInput(argument, `is not an ISO 8601 date or date-time: "${value}"`);
  const [, date, time = '00:00:00', offset = 'Z'] = match;
  const normalized = `${date}T${time}${offset.toUpperCase().replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`;
  if (!isCalendarDate(date!) || Number.isNaN(Date.parse(normalized))) throw badUserInput(argument, `is not a valid date-time: "${value}"`);
  return normalized;
}

/** Date.parse rolls 2024-02-30 over to March; PostgreSQL would refuse it. */
function isCalendarDate(date: string): boolean {
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(date);
}

const ATTACK_ID = /^T\d{4}(?:\.\d{3})?$/;

function techniqueOf(value: string): string {
  const technique = value.trim().toUpperCase();
  if (!ATTACK_ID.test(technique)) throw badUserInput('filter.technique', `is not an ATT&CK technique id like T1566 or T1566.001: "${value}"`);
  return technique;
}
