/**
 * A nation's audit log: every release its subgraph makes, appended to a hash chain in its own silo
 * (table audit_record, migration 002), and the check that the chain is intact.
 */
export { canonicalJson, chainHash, GENESIS_HASH, type AuditEntry, type AuditRecord } from './chain';
export { openAuditLog, AuditWriteError, type AuditLog, type AuditLogOptions } from './log';
export { verifyAuditChain, recentAuditRecords, type ChainVerdict } from './verify';
export { summarizeAuditRecord } from './format';
