/**
 * What one client request may ask of the coalition, checked on the parsed operation before any
 * nation is asked. The defaults admit every query in the README, the console and the tests with a
 * wide margin (test/unit/operation-limits.test.ts measures it); a deployment changes them with
 * `GatewayConfig.limits`.
 */
export interface OperationLimits {
  /** Lexical tokens in the query text (graphql-js stops parsing past it). */
  maxTokens: number;
  /** Levels of nested fields (fragments do not add a level). */
  maxDepth: number;
  /** Aliased fields, counted with every fragment spread expanded. */
  maxAliases: number;
  /** Fields asked at the root of one operation (each root list fans out to every nation). */
  maxRootFields: number;
  /** Directives used in the operation, fragments expanded. */
  maxDirectives: number;
  /** Selections with every fragment spread expanded: bounds fragment fan-out before the query planner sees it. */
  maxSelections: number;
  /** Estimated work, see cost.ts: field values answered plus entity fetches, lists multiplied by their size. */
  maxCost: number;
  /** Size assumed for a list that takes no `first` (Indicator.sightings, Incident.attributedTo, …). */
  assumedListSize: number;
  /** What one `@crossNation` reference costs on top of its fields: an `_entities` fetch at its owner. */
  entityFetchCost: number;
  /** Values in the request's variables, every list element and object field counted. */
  maxVariableValues: number;
  /** Requests the gateway may send the nations for one client request: the backstop if the cost model misjudges. */
  maxNationRequests: number;
  /** Whether `__schema`/`__type` are answered. On: the console and app tooling read the schema this way. */
  introspection: boolean;
  /** Whether validation errors suggest field and type names ("Did you mean …"): they describe the schema. */
  suggestions: boolean;
}

export const DEFAULT_LIMITS: Readonly<OperationLimits> = Object.freeze({
  maxTokens: 3_000,
  maxDepth: 12,
  maxAliases: 30,
  maxRootFields: 25,
  maxDirectives: 30,
  maxSelections: 2_000,
  maxCost: 700_000,
  assumedListSize: 10,
  entityFetchCost: 5,
  maxVariableValues: 1_000,
  maxNationRequests: 200,
  introspection: true,
  suggestions: false,
});

/** The defaults with a deployment's changes; a setting that is not a positive integer (or a boolean) is refused at start. */
export function resolveLimits(changes: Partial<OperationLimits> = {}): OperationLimits {
  const limits = { ...DEFAULT_LIMITS, ...withoutUndefined(changes) };
  for (const [name, value] of Object.entries(limits)) {
    const wanted = typeof DEFAULT_LIMITS[name as keyof OperationLimits];
    if (wanted === 'undefined') throw new Error(`limits.${name} is not a setting; the settings are ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
    const fits = wanted === 'boolean' ? typeof value === 'boolean' : Number.isSafeInteger(value) && (value as number) > 0;
    if (!fits) throw new Error(`limits.${name} must be ${wanted === 'boolean' ? 'true or false' : 'a positive integer'}, got ${JSON.stringify(value)}`);
  }
  return limits;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
