/**
 * The backstop behind the cost limit: one client request may make only so many requests to the
 * nations, and each distinct entity is asked of its owner once. A real nation stand-in (an HTTP
 * server on a free loopback port) counts what it is sent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { createAssertionSigner, type Principal } from '../../policies';
import { INCOMING_OPERATION, NationsDataSource, type FanoutContext } from '../../gateway/fanout/nations-source';
import { readContractSdlFile } from '../../gateway/supergraph/api-schema';

const ANALYST: Principal = { subject: 'analyst', nation: 'DEU', clearance: 'SECRET', roles: ['analyst'], communities: ['NATO'] };
const ENTITIES = 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Indicator { id } } }';

let nation: Server;
let source: NationsDataSource;
const received: Array<Array<{ id: string }>> = [];

beforeAll(async () => {
  nation = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const representations = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { variables: { representations: Array<{ id: string }> } }).variables.representations;
    received.push(representations);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { _entities: representations.map((r) => ({ id: r.id })) } }));
  });
  await new Promise<void>((resolve) => nation.listen(0, '127.0.0.1', resolve));
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  source = new NationsDataSource({
    nations: [{ nation: 'FRA', url: `http://127.0.0.1:${(nation.address() as AddressInfo).port}/graphql` }],
    contractSdl: readContractSdlFile(),
    sign: await createAssertionSigner({ privateJwk: await exportJWK(privateKey) }),
    timeoutMs: 3000,
    maxNationRequests: 2,
  });
});

afterAll(async () => {
  await source?.close();
  nation?.close();
});

function fetchEntities(context: FanoutContext, ids: string[]) {
  const representations = ids.map((id) => ({ __typename: 'Indicator', id }));
  return source.process({ kind: INCOMING_OPERATION, request: { query: ENTITIES, variables: { representations } }, context } as unknown as GraphQLDataSourceProcessOptions<FanoutContext>);
}

it('asks each distinct entity once and answers every position that asked for it', async () => {
  received.length = 0;
  const answer = await fetchEntities({ principal: ANALYST }, ['FRA:indicator--1', 'FRA:indicator--2', 'FRA:indicator--1']);
  expect(received).toEqual([[{ __typename: 'Indicator', id: 'FRA:indicator--1' }, { __typename: 'Indicator', id: 'FRA:indicator--2' }]]);
  expect(answer.data?._entities).toEqual([
    { id: 'FRA:indicator--1' },
    { id: 'FRA:indicator--2' },
    { id: 'FRA:indicator--1' },
  ]);
});

it('stops asking the nations once a client request has used its budget, saying so; the next request has its own', async () => {
  received.length = 0;
  const request: FanoutContext = { principal: ANALYST };
  await fetchEntities(request, ['FRA:indicator--1']);
  await fetchEntities(request, ['FRA:indicator--2']);
  const third = await fetchEntities(request, ['FRA:indicator--3']);
  expect(received).toHaveLength(2);
  expect(third.errors?.[0]?.extensions).toMatchObject({ code: 'NATION_REQUEST_BUDGET_EXCEEDED', nation: 'FRA' });
  expect(third.data?._entities).toEqual([null]);
  const another = await fetchEntities({ principal: ANALYST }, ['FRA:indicator--3']);
  expect(another.errors).toBeUndefined();
  expect(received).toHaveLength(3);
});
