/**
 * Before planning, the client's operation is rewritten so that every nation-owned object in the
 * answer arrives with what the policy decides on, whatever the client selected: its type, its id
 * (whose prefix names its owner), marking, field markings, and the values rules compare. Each injected field has an alias
 * of its own (`__sg_…`), so the walk after execution knows what to read and what to strip.
 *
 * What the client already selects plainly (`id`, `marking { classification tlp
 * releasableTo caveats }`, a compared value; no arguments, no directives) is not asked twice: the
 * walk reads it under the client's own key. Every injected field costs a resolver and a decision
 * at the nation and a merge at the gateway, for every object of the answer.
 */
import {
  isAbstractType,
  isObjectType,
  Kind,
  parse,
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

export const NATION_OBJECT = 'NationObject';
/** Every injected alias starts with this; a client's own alias may not. */
export const INJECTED_PREFIX = '__sg_';
export const INJECTED = {
  typename: `${INJECTED_PREFIX}typename`,
  id: `${INJECTED_PREFIX}id`,
  marking: `${INJECTED_PREFIX}marking`,
  fieldMarkings: `${INJECTED_PREFIX}fieldMarkings`,
  valuePrefix: `${INJECTED_PREFIX}v_`,
} as const;

const MARKING_FIELDS = ['classification', 'tlp', 'releasableTo', 'caveats'] as const;
const MARKING_SELECTION = `{ ${MARKING_FIELDS.join(' ')} }`;

/** A policy input: the alias it is injected under, the field it reads, the subfields it needs. */
export interface PolicyInput {
  alias: string;
  field: string;
  subfields?: readonly string[];
}

/**
 * What every nation-owned object must carry besides its field markings (which clients do not select).
 * Its owner is its id's prefix, as the fan-out routes it: the `nation` field would say it again.
 */
export const OBJECT_INPUTS: readonly PolicyInput[] = [
  { alias: INJECTED.id, field: 'id' },
  { alias: INJECTED.marking, field: 'marking', subfields: MARKING_FIELDS },
];

export function valueInput(field: string): PolicyInput {
  return { alias: `${INJECTED.valuePrefix}${field}`, field };
}

/**
 * Whether a client's field selects exactly the input's field (any alias) and at least its subfields
 * under their own names: then its value is the input's value, and nothing needs injecting. GraphQL
 * merges fields of one response key only when they are the same field with the same arguments, so
 * one plain node among merged ones is enough.
 */
export function selectsPlainly(node: FieldNode, input: Pick<PolicyInput, 'field' | 'subfields'>): boolean {
  if (node.name.value !== input.field || node.arguments?.length || node.directives?.length) return false;
  if (!input.subfields) return !node.selectionSet;
  const selections = node.selectionSet?.selections ?? [];
  return input.subfields.every((sub) => selections.some((s) => s.kind === Kind.FIELD && !s.alias && selectsPlainly(s, { field: sub })));
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
          if (isNationType(type)) added.push(...missing(OBJECT_INPUTS), fieldMarkingsField(), ...missing(valuesOf.get(type.name) ?? []));
          else if (isAbstractType(type)) {
            const possible = schema.getPossibleTypes(type).filter(isNationType);
            added.push(field(INJECTED.typename, '__typename'));
            if (possible.length) added.push(inlineFragment(NATION_OBJECT, [...missing(OBJECT_INPUTS), fieldMarkingsField()]));
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
  return field(input.alias, input.field, input.subfields && `{ ${input.subfields.join(' ')} }`);
}

function fieldMarkingsField(): FieldNode {
  return field(INJECTED.fieldMarkings, 'fieldMarkings', `{ field marking ${MARKING_SELECTION} }`);
}

function field(alias: string, name: string, selection?: string): FieldNode {
  const selectionSet = selection ? selectionSetOf(selection) : undefined;
  return {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: alias },
    name: { kind: Kind.NAME, value: name },
    ...(selectionSet && { selectionSet }),
  };
}

function inlineFragment(typeName: string, selections: SelectionNode[]): InlineFragmentNode {
  return {
    kind: Kind.INLINE_FRAGMENT,
    typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: typeName } },
    selectionSet: { kind: Kind.SELECTION_SET, selections },
  };
}

function selectionSetOf(text: string): SelectionSetNode {
  const operation = parse(`{ x ${text} }`).definitions[0]!;
  return ((operation as { selectionSet: SelectionSetNode }).selectionSet.selections[0] as FieldNode).selectionSet!;
}
