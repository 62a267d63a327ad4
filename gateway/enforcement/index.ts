/** Policy enforcement on the composed answer: the executor wrapper and what it is built from. */
export { EnforcingGateway, type EnforcementOptions } from './enforcing-gateway';
export { policySchemaFromContract } from './policy-schema';
export { enforceResult, type Enforced, type ReleasedMarking } from './walk';
export { createCursorSeal, type CursorSeal } from './cursors';
