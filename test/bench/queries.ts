/** The benchmark's query: 50 indicators with nested fields, the techniques' fields as given. */
export const nestedQuery = (techniqueFields: string): string => `query Bench {
  indicators(first: 50) {
    edges { cursor node {
      id nation stixId pattern patternType indicatorTypes validFrom validUntil confidence
      killChainPhases { killChainName phaseName }
      techniques { ${techniqueFields} }
      source { name kind }
      sightings { count firstSeen lastSeen }
      marking { classification tlp releasableTo caveats }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** As the policy benchmark asks it: technique ids only (no reference-subgraph hop). */
export const NESTED_QUERY = nestedQuery('id');
