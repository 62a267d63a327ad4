import { readFileSync } from 'node:fs';
import { buildASTSchema, parse, type GraphQLEnumType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CLASSIFICATIONS, TLP_LEVELS } from '../../policies';

const contractSdl = readFileSync(new URL('../../subgraphs/contract/nation.graphql', import.meta.url), 'utf8');
const federationStub = 'directive @link(url: String, import: [String]) repeatable on SCHEMA\ndirective @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE\ndirective @shareable on OBJECT | FIELD_DEFINITION\nschema { query: Query }\n';

describe('the contract and the policy layer speak one marking vocabulary', () => {
  const schema = buildASTSchema(parse(federationStub + contractSdl), { assumeValidSDL: true });
  const values = (name: string) => (schema.getType(name) as GraphQLEnumType).getValues().map((v) => v.name);

  it('lists the classifications in the same order of restriction', () => {
    expect(values('Classification')).toEqual([...CLASSIFICATIONS]);
  });

  it('lists the TLP 2.0 levels in the same order of restriction', () => {
    expect(values('Tlp')).toEqual([...TLP_LEVELS]);
  });
});
