/**
 * Before planning, the client's operation is rewritten so that every nation-owned object in the
 * answer arrives with what the policy decides on, whatever the client selected: its type, its id
 * (whose prefix names its owner), its markings (object and fields, as one `policyMarkings` value),
 * and the values rules compare. Each injected field has an alias of its own (`__sg_…`), so the walk
 * after execution knows what to read and what to strip.
 *
 * What the client already selects plainly (`id`, `policyMarkings`, a compared value; no arguments,
 * no directives) is not asked twice: the walk reads it under the client's own key. Every injected
 * field costs a resolver and a decision at the nation and a merge at the gateway, for every object
 * of the answer: the markings come as one scalar for that reason (as `marking { … }` and
 * `fieldMarkings { … }` they were ten fields an object).
 */
import {
  isAbstractType,
  isObjectType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { NATION_OBJECT } from '../supergraph/nation-views';

/** Every injected alias starts with this; a client's own alias may not. */
export const INJECTED_PREFIX = '__sg_';
export const INJECTED = {
  typename: `${INJECTED_PREFIX}typename`,
  id: `${INJECTED_PREFIX}id`,
  markings: `${INJECTED_PREFIX}markings`,
  valuePrefix: `${INJECTED_PREFIX}v_`,
} as const;

/** A policy input: the alias it is injected under and the field (a leaf) it reads. */
export interface PolicyInput {
  alias: string;
  field: string;
}

/**
 * What every nation-owned object must carry. Its owner is its id's prefix, as the fan-out routes
 * it: the `nation` field would say it again.
 */
export const OBJECT_INPUTS: readonly PolicyInput[] = [
  { alias: INJECTED.id, field: 'id' },
  { alias: INJECTED.markings, field: 'policyMarkings' },
];

export function valueInput(field: string): PolicyInput {
  return { alias: `${INJECTED.valuePrefix}${field}`, field };
}

/**
 * Whether a client's field selects exactly the input's field (any alias): then its value is the
 * input's value, and nothing needs injecting. GraphQL merges fields of one response key only when
 * they are the same field with the same arguments, so one plain node among merged ones is enough.
 */
export function selectsPlainly(node: FieldNode, input: Pick<PolicyInput, 'field'>): boolean {
  return node.name.value === input.field && !node.arguments?.length && !node.directives?.length && !node.selectionSet;
}

/** The fields of each type whose values some rule looks at (the engine's `fieldsLookedAt`). */
export type FieldsLookedAt = (type: string) => readonly string[];

/** Asked per object of every answer: worked out once per type (graphql-js's type tests are not free in development mode). */
const nationTypes = new WeakMap<GraphQLNamedType, boolean>();
export function isNationType(type: GraphQLNamedType | null | undefined): boolean {
  if (!type) return false;
  let nation = nationTypes.get(type);
  if (nation === undefined) nationTypes.set(type, (nation = isObjectType(type) && type.getInterfaces().some((i) => i.name === NATION_OBJECT)));
  return nation;
}

/** The aliases of a client's document that would collide with injected ones. */
export function reservedAliasesIn(document: DocumentNode): string[] {
  const found: string[] = [];
  visit(document, {
    Field(node) {
      if (node.alias?.value.startsWith(INJECTED_PREFIX)) found.push(node.alias.value);
    },
  });
  return found;
}

/** The client's document with the policy's inputs selected on every nation-owned object. */
export function injectPolicyInputs(schema: GraphQLSchema, document: DocumentNode, fieldsLookedAt: FieldsLookedAt): DocumentNode {
  const nationTypes = Object.values(schema.getTypeMap()).filter(isNationType);
  const valuesOf = new Map(nationTypes.map((type) => [type.name, fieldsLookedAt(type.name).map(valueInput)]));
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      SelectionSet: {
        leave(node): SelectionSetNode | undefined {
          const type = typeInfo.getParentType();
          if (!type) return undefined;
          const missing = (inputs: readonly PolicyInput[]) => inputs.filter((input) => !node.selections.some((s) => s.kind === Kind.FIELD && selectsPlainly(s, input))).map(injectedField);
          const added: SelectionNode[] = [];
          // A concrete type's runtime type is known from the operation: only abstract ones need __typename.
          if (isNationType(type)) added.push(...missing(OBJECT_INPUTS), ...missing(valuesOf.get(type.name) ?? []));
          else if (isAbstractType(type)) {
            const possible = schema.getPossibleTypes(type).filter(isNationType);
            added.push(field(INJECTED.typename, '__typename'));
            const inputs = possible.length ? missing(OBJECT_INPUTS) : [];
            if (inputs.length) added.push(inlineFragment(NATION_OBJECT, inputs));
            for (const t of possible) {
              const values = missing(valuesOf.get(t.name) ?? []);
              if (values.length) added.push(inlineFragment(t.name, values));
            }
          }
          return added.length ? { ...node, selections: [...node.selections, ...added] } : undefined;
        },
      },
    }),
  );
}

function injectedField(input: PolicyInput): FieldNode {
  return field(input.alias, input.field);
}

function field(alias: string, name: string): FieldNode {
  return { kind: Kind.FIELD, alias: { kind: Kind.NAME, value: alias }, name: { kind: Kind.NAME, value: name } };
}

function inlineFragment(typeName: string, selections: SelectionNode[]): InlineFragmentNode {
  return {
    kind: Kind.INLINE_FRAGMENT,
    typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: typeName } },
    selectionSet: { kind: Kind.SELECTION_SET, selections },
  };
}
