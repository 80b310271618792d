import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { talosPlugin } from './eslint-rules/layering.js';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/src/gen/**', '_out/**', '.tmp/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { talos: talosPlugin },
    rules: {
      'talos/layering': 'error',
      'talos/no-default-export': 'error',
      'no-console': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Specs are plain data whose shape the caller knows; `any` is still banned.
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // The CLI, entry points, scripts and benchmarks print to the terminal by design.
    files: ['packages/talosctl/src/**/*.ts', '**/main.ts', '**/bin/**', 'scripts/**', '**/bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // talosctl's start file is CommonJS on purpose (it runs before any loader; see the file).
    files: ['packages/talosctl/bin/talosctl.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
