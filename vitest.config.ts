import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build for our code and for Apollo's alike; Vite would pick its
    // ES module build for our code only, and graphql refuses to mix two copies of its own classes.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start real processes; two cores cannot run many at once.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      // A real PostgreSQL server on a free port for the tests of a silo on a server (replicas).
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/browser/**'], globalSetup: ['test/helpers/postgres-server.ts'] } },
      // Real headless Chromium (Debian's package): its global setup installs it on a clean machine,
      // and runs only when a browser test is selected.
      { extends: true, test: { name: 'browser', include: ['test/browser/**/*.test.ts'], globalSetup: ['test/browser/ensure-chromium.ts'] } },
    ],
  },
});
