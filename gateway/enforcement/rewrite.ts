/**
 * Before planning, the client's operation is rewritten so that every nation-owned object in the
 * answer arrives with what the policy decides on, whatever the client selected: its type, id,
 * owner, marking, field markings, and the values rules compare. Each injected field has an alias
 * of its own (`__sg_…`), so the walk after execution knows what to read and what to strip.
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
  nation: `${INJECTED_PREFIX}nation`,
  marking: `${INJECTED_PREFIX}marking`,
  fieldMarkings: `${INJECTED_PREFIX}fieldMarkings`,
  valuePrefix: `${INJECTED_PREFIX}v_`,
} as const;

const MARKING_SELECTION = '{ classification tlp releasableTo caveats }';

/** The fields of each type whose values some rule looks at (the engine's `fieldsLookedAt`). */
export type FieldsLookedAt = (type: string) => readonly string[];

export function isNationType(type: GraphQLNamedType | null | undefined): boolean {
  return isObjectType(type) && type.getInterfaces().some((i) => i.name === NATION_OBJECT);
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
  const base = baseSelections();
  const valuesOf = new Map(nationTypes.map((type) => [type.name, valueSelections(type.name, fieldsLookedAt)]));
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      SelectionSet: {
        leave(node): SelectionSetNode | undefined {
          const type = typeInfo.getParentType();
          if (!type) return undefined;
          const added: SelectionNode[] = [];
          if (isNationType(type)) added.push(...base, ...(valuesOf.get(type.name) ?? []));
          else if (isAbstractType(type)) {
            const possible = schema.getPossibleTypes(type).filter(isNationType);
            added.push(field(INJECTED.typename, '__typename'));
            if (possible.length) added.push(inlineFragment(NATION_OBJECT, base));
            for (const t of possible) if (valuesOf.get(t.name)?.length) added.push(inlineFragment(t.name, valuesOf.get(t.name)!));
          }
          return added.length ? { ...node, selections: [...node.selections, ...added] } : undefined;
        },
      },
    }),
  );
}

function baseSelections(): SelectionNode[] {
  return [
    field(INJECTED.typename, '__typename'),
    field(INJECTED.id, 'id'),
    field(INJECTED.nation, 'nation'),
    field(INJECTED.marking, 'marking', MARKING_SELECTION),
    field(INJECTED.fieldMarkings, 'fieldMarkings', `{ field marking ${MARKING_SELECTION} }`),
  ];
}

function valueSelections(typeName: string, fieldsLookedAt: FieldsLookedAt): SelectionNode[] {
  return fieldsLookedAt(typeName).map((name) => field(`${INJECTED.valuePrefix}${name}`, name));
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
