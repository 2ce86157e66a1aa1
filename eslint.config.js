// Lint what the type checker cannot see: promises nobody awaits (in a workflow they fail the
// workflow task, as an un-awaited signal once did) and imports that break the sandbox.
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/**', 'generated/**', 'node_modules/**', '.adamllm/**', '*.config.js', 'prisma.config.ts'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'demo/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'child_process', 'crypto', 'os'], message: 'workflows run in the Temporal sandbox: no Node builtins' },
            { group: ['**/generated/**', '@prisma/*', 'pg'], message: 'workflows never touch the database; call an activity' },
            { group: ['../activities', '../activities/*', '../activities/**', '../../activities/**'], allowTypeImports: true, message: 'import activities as types only (proxyActivities)' },
          ],
        },
      ],
    },
  },
);
