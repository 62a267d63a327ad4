export { DEFAULT_LIMITS, resolveLimits, type OperationLimits } from './settings';
export { LIMIT_CODES, OPERATION_TYPE_NOT_SUPPORTED, UNKNOWN_OPERATION, QUERY_PLAN_TOO_LARGE, OperationRefused, limitExceeded } from './errors';
export { operationLimits, type LimitsWiring } from './plugin';
export { createCostModel, type CostModel } from './cost';
export { documentLimitBroken } from './document-rules';
