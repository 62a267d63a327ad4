import { Kind, parse } from 'graphql';
import { NATION_OBJECT } from '../supergraph/nation-views';

/**
 * What the policy engine may decide on, from the contract the nations serve: every type that
 * implements NationObject and its fields. Anything else in a response is not a nation's to release.
 */
export function policySchemaFromContract(contractSdl: string): Record<string, string[]> {
  const types: Record<string, string[]> = {};
  for (const definition of parse(contractSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    if (!definition.interfaces?.some((i) => i.name.value === NATION_OBJECT)) continue;
    types[definition.name.value] = (definition.fields ?? []).map((f) => f.name.value);
  }
  return types;
}
