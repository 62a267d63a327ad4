/**
 * The rule file schema: the single source of truth for what a policy officer may write. The
 * TypeScript types below are inferred from it, never written a second time.
 */
import { z } from 'zod';
import { CLASSIFICATIONS, TLP_LEVELS } from './markings';
import { TRANSFORM_NAMES } from './transforms';

const nation = z.string().regex(/^[A-Z]{3}$/, 'an ISO 3166 alpha-3 code such as FRA');
const name = z.string().min(1);

export const EFFECTS = ['allow', 'transform', 'redact', 'deny'] as const;

const principalConditions = z
  .object({
    nations: z.array(nation).min(1).optional().describe('the principal is from one of these nations'),
    notNations: z.array(nation).min(1).optional().describe('the principal is from none of these nations'),
    clearanceAtLeast: z.enum(CLASSIFICATIONS).optional(),
    clearanceBelow: z.enum(CLASSIFICATIONS).optional(),
    rolesAny: z.array(name).min(1).optional().describe('the principal holds at least one of these roles'),
    rolesNone: z.array(name).min(1).optional().describe('the principal holds none of these roles'),
    communitiesAny: z.array(name).min(1).optional(),
    communitiesNone: z.array(name).min(1).optional(),
  })
  .strict();

const fieldValueCondition = z
  .object({
    field: name.describe('a field of the object, e.g. indicatorTypes or sector'),
    equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
    in: z.array(z.union([z.string(), z.number()])).min(1).optional(),
    contains: z.string().optional().describe('the field is a list holding this value'),
  })
  .strict()
  .refine((c) => [c.equals, c.in, c.contains].filter((v) => v !== undefined).length === 1, {
    message: 'a field condition needs exactly one of equals, in, contains',
  });

const objectConditions = z
  .object({
    owners: z.array(nation).min(1).optional(),
    classificationAtLeast: z.enum(CLASSIFICATIONS).optional(),
    tlpAtLeast: z.enum(TLP_LEVELS).optional(),
    caveatsAny: z.array(name).min(1).optional(),
    fieldValues: z.array(fieldValueCondition).min(1).optional().describe('all must hold'),
  })
  .strict();

export const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'lower-case letters, digits, dots and dashes'),
    description: z.string().min(1),
    match: z
      .object({
        types: z.array(name).min(1).describe('GraphQL type names, or "*"'),
        fields: z.array(name).min(1).describe('field names, or "*"'),
      })
      .strict(),
    when: z.object({ principal: principalConditions.optional(), object: objectConditions.optional() }).strict().optional(),
    effect: z.enum(EFFECTS),
    transform: z.enum(TRANSFORM_NAMES).optional(),
  })
  .strict()
  .refine((rule) => (rule.effect === 'transform') === (rule.transform !== undefined), {
    message: 'effect "transform" needs a "transform" name, and only it may have one',
    path: ['transform'],
  });

export const ruleFileSchema = z
  .object({
    /** The owner nation, or COALITION for the coalition's own file. */
    nation: z.union([nation, z.literal('COALITION')]),
    version: z.number().int().positive(),
    /** COALITION only: each community and its member nations. Membership is this, never a token's say-so. */
    communities: z.record(name, z.array(nation).min(1)).optional(),
    rules: z.array(ruleSchema),
  })
  .strict()
  .refine((file) => file.communities === undefined || file.nation === 'COALITION', {
    message: 'only the COALITION file may define communities',
    path: ['communities'],
  });

export type Rule = z.infer<typeof ruleSchema>;
export type RuleFile = z.infer<typeof ruleFileSchema>;
export type Effect = (typeof EFFECTS)[number];
export type PrincipalConditions = z.infer<typeof principalConditions>;
export type ObjectConditions = z.infer<typeof objectConditions>;
export type FieldValueCondition = z.infer<typeof fieldValueCondition>;

/** deny > redact > transform > allow. */
export function restrictiveness(effect: Effect): number {
  return EFFECTS.indexOf(effect);
}
