/**
 * The policy layer's public surface. Free of Apollo and of any database: the gateway and the
 * subgraphs call it.
 */
export * from './markings';
export type { Principal } from './principal';
export {
  ASSERTION_HEADER,
  AssertionError,
  createAssertionSigner,
  createAssertionVerifier,
  type AssertionSigner,
  type AssertionVerifier,
} from './assertion';
export { checkBaseline, type BaselineResult, type BaselineCheck } from './baseline';
export { createPolicyEngine, type PolicyEngine, type PolicyEngineOptions, type ObjectFacts, type Decision, type Explanation } from './engine';
export { ruleFileSchema, ruleSchema, EFFECTS, restrictiveness, type Rule, type RuleFile, type Effect } from './rule-schema';
export { parseRuleFile, loadRuleFolder, DEFAULT_RULES_DIR, RuleFileError, formatIssue, type RuleFileIssue } from './rule-files';
export { applyTransform, redact, KEPT_FIELDS, REDACTED, NOT_APPLICABLE, TRANSFORM_NAMES, type TransformName } from './transforms';
export { evaluateCondition, fieldValueHolds, fieldsReadBy, type ObjectCondition } from './conditions';
export {
  signRules,
  signRuleFolder,
  signedRulesOfBody,
  verifySignedRules,
  PolicyRefusal,
  SIGNED_RULES_TYPE,
  type PolicyTrustStore,
  type PolicyKey,
  type SignOptions,
  type VerifiedRules,
  type RefusalReason,
} from './signed-rules';
export { createRuleStore, type RuleStore, type RuleStoreOptions, type OfferResult, type PolicyAlert, type AcceptedVersion } from './rule-store';
export { createShadowRecorder, type Shadow, type ShadowRecorder, type ShadowReport, type ShadowChange } from './shadow';
export { lintRuleFile, formatWarning, ruleLines, covers, diffRuleFiles, formatDiff, DEMO_NATIONS, type LintWarning, type DiffOptions, type DecisionChange } from './analysis';
