import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.test.ts'],
    // Native code can take a worker down; a crashed fork fails its file, not the run.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    server: {
      deps: {
        // Tests exercise the built package exactly as users load it (dist/ is CommonJS + an
        // ESM wrapper): let Node load it instead of Vite transforming it.
        external: [/\/dist\//],
      },
    },
  },
})
