import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '**/dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'bench/out/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='keys'][callee.object.name=/redis|client/i]", message: 'Never use Redis KEYS: use SCAN.' },
      ],
    },
  },
  {
    // Only repositories may touch Mongoose models; apps stay thin.
    files: ['apps/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'mongoose', message: 'Apps must not touch Mongoose: go through a service and a repository.' }] }],
    },
  },
);
