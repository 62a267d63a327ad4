/**
 * Apollo Federation cannot route one entity to a subgraph by the value of its key, so the gateway
 * sees the nations as logical subgraphs whose data source routes by id (see nations-source.ts).
 *
 * A field marked `@crossNation` may point at an object another nation holds. Were it composed in
 * the same logical subgraph as its target type, the planner would ask the nation that holds the
 * *reference* for the target's fields too, and that nation does not hold them. So such fields are
 * split into a second logical subgraph, `nations_links`, that knows the target types only by key:
 * the planner then fetches the targets by `_entities`, which the data source routes to each owner.
 */
import { Kind, parse, print, type DefinitionNode, type DocumentNode, type FieldDefinitionNode, type ObjectTypeDefinitionNode, type ConstDirectiveNode, type TypeNode } from 'graphql';

export const NATIONS_SUBGRAPH = 'nations';
export const NATION_LINKS_SUBGRAPH = 'nations_links';
const CROSS_NATION = 'crossNation';
/** The interface every nation-owned type implements. */
export const NATION_OBJECT = 'NationObject';

export interface NationViews {
  /** The contract minus the cross-nation fields: every nation-owned type and every root field. */
  nations: string;
  /** The cross-nation fields alone, on key-only entity stubs. */
  links: string;
}

export function deriveNationViews(contractSdl: string): NationViews {
  const contract = parse(contractSdl);
  const linkFields = collectCrossNationFields(contract);
  return {
    nations: print(withoutCrossNationFields(contract)),
    links: print(linksView(contract, linkFields)),
  };
}

export function isCrossNation(field: FieldDefinitionNode): boolean {
  return field.directives?.some((d) => d.name.value === CROSS_NATION) ?? false;
}

function collectCrossNationFields(doc: DocumentNode): Map<string, FieldDefinitionNode[]> {
  const byType = new Map<string, FieldDefinitionNode[]>();
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    const fields = (def.fields ?? []).filter(isCrossNation);
    if (fields.length) byType.set(def.name.value, fields);
  }
  return byType;
}

function withoutCrossNationFields(doc: DocumentNode): DocumentNode {
  const definitions = doc.definitions
    .filter((def) => !(def.kind === Kind.DIRECTIVE_DEFINITION && def.name.value === CROSS_NATION))
    .map((def): DefinitionNode =>
      def.kind === Kind.OBJECT_TYPE_DEFINITION ? { ...def, fields: def.fields?.filter((f) => !isCrossNation(f)) } : def,
    );
  return { ...doc, definitions };
}

function linksView(contract: DocumentNode, linkFields: Map<string, FieldDefinitionNode[]>): DocumentNode {
  const schemaExtension = contract.definitions.filter((d) => d.kind === Kind.SCHEMA_EXTENSION);
  const holders = [...linkFields].map(([typeName, fields]) => entityStub(typeName, true, fields.map(stripCrossNation)));
  const targetNames = new Set([...linkFields.values()].flat().map((f) => namedType(f.type)));
  const targets = [...targetNames].filter((name) => !linkFields.has(name)).map((name) => entityStub(name, false, []));
  return { kind: Kind.DOCUMENT, definitions: [...schemaExtension, ...holders, ...targets] };
}

/** `type T @key(fields: "id") { id: ID! …fields }`; a target the links view cannot resolve is `resolvable: false`. */
function entityStub(typeName: string, resolvable: boolean, fields: FieldDefinitionNode[]): ObjectTypeDefinitionNode {
  const source = `type ${typeName} @key(fields: "id"${resolvable ? '' : ', resolvable: false'}) { id: ID! }`;
  const stub = parse(source).definitions[0] as ObjectTypeDefinitionNode;
  return { ...stub, fields: [...(stub.fields ?? []), ...fields] };
}

function stripCrossNation(field: FieldDefinitionNode): FieldDefinitionNode {
  const directives: ConstDirectiveNode[] = (field.directives ?? []).filter((d) => d.name.value !== CROSS_NATION);
  return { ...field, directives, description: undefined };
}

export function namedType(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type);
}
