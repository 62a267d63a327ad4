import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build for our code and for Apollo's alike; Vite would pick its
    // ES module build for our code only, and graphql refuses to mix two copies of its own classes.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start real processes; two cores cannot run many at once.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
