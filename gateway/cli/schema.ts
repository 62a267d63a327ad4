/**
 * Prints the coalition's schema (SDL) as clients see it, for app developers and their tools, with
 * nothing running:
 *   npm run -s schema > coalition.graphql
 * Deployments may switch introspection off (GatewayConfig.limits.introspection); this stays.
 */
import { printSchema } from 'graphql';
import { coalitionApiSchema } from '../supergraph/api-schema';

try {
  process.stdout.write(`${printSchema(await coalitionApiSchema())}\n`);
} catch (error) {
  console.error(`schema: ${(error as Error).message}`);
  process.exitCode = 1;
}
