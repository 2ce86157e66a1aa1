/** Jest: TypeScript through swc; one global setup starts Temporal and migrates a fresh database. */
module.exports = {
  // the node environment with the main realm's typed arrays (onnxruntime-node's outputs, see the file)
  testEnvironment: '<rootDir>/tests/setup/onnx-environment.js',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  // hyparquet ships ES modules only; swc turns them into CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!hyparquet/)'],
  globalSetup: '<rootDir>/tests/setup/global-setup.ts',
  globalTeardown: '<rootDir>/tests/setup/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 1,
};
