import { readFileSync } from 'node:fs';
import { buildASTSchema, parse, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { deriveNationViews } from '../../gateway/supergraph/nation-views';
import { composeSupergraph } from '../../gateway/supergraph/compose';

const contract = readFileSync(new URL('../../subgraphs/contract/nation.graphql', import.meta.url), 'utf8');
const stubs = 'directive @link(url: String, import: [String]) repeatable on SCHEMA\ndirective @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE\ndirective @shareable on OBJECT | FIELD_DEFINITION\n';

describe('how the gateway composes nations that share one contract', () => {
  const views = deriveNationViews(contract);
  const fieldsOf = (sdl: string, type: string) => Object.keys((buildASTSchema(parse(stubs + sdl), { assumeValidSDL: true }).getType(type) as GraphQLObjectType).getFields());

  it('moves every @crossNation field into the links view, on key-only stubs', () => {
    expect(fieldsOf(views.links, 'Sighting')).toEqual(['id', 'sightingOf']);
    expect(fieldsOf(views.links, 'Incident')).toEqual(['id', 'indicators', 'attributedTo']);
    expect(fieldsOf(views.links, 'Indicator')).toEqual(['id']);
    expect(views.links).toContain('resolvable: false');
  });

  it('keeps everything else, root fields included, in the nations view', () => {
    expect(fieldsOf(views.nations, 'Sighting')).not.toContain('sightingOf');
    expect(fieldsOf(views.nations, 'Indicator')).toContain('pattern');
    expect(fieldsOf(views.nations, 'Query')).toEqual(expect.arrayContaining(['indicators', 'indicator', 'me']));
  });

  it('composes with a reference subgraph into one supergraph, and refuses a conflicting one with the reason', () => {
    const reference = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type AttackPattern @key(fields: "id") { id: ID! name: String }
      type Query { attackPattern(id: ID!): AttackPattern }`;
    expect(composeSupergraph(contract, [{ name: 'reference', url: 'http://127.0.0.1:1/graphql', sdl: reference }])).toContain('join__Graph');
    const conflicting = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { indicators: Int }`;
    expect(() => composeSupergraph(contract, [{ name: 'rogue', url: 'http://127.0.0.1:1/graphql', sdl: conflicting }])).toThrow(/composition failed[\s\S]*indicators/);
  });
});
