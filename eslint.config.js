import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', 'bench/results/**', '**/.turbo/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly',
        clearInterval: 'readonly', setImmediate: 'readonly', clearImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly',
        AbortSignal: 'readonly', performance: 'readonly', fetch: 'readonly', Buffer: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        structuredClone: 'readonly', queueMicrotask: 'readonly', Response: 'readonly', Request: 'readonly', Headers: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[property.name='_httpMessage']", message: 'Node private field: track requests by events instead.' },
      ],
    },
  },
  {
    // Only core's process folder, @lastcall/deno's (Deno's own API) and the CLI's signal module may touch process signals and exit.
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/core/src/process/**', 'packages/deno/src/process/**', 'packages/cli/src/signals.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'exit', message: 'Only core/src/process/ exits the process.' },
        { object: 'process', property: 'on', message: 'Only core/src/process/ listens on process.' },
        { object: 'process', property: 'kill', message: 'Only core/src/process/ signals processes.' },
        { object: 'deno', property: 'exit', message: 'Only deno/src/process/ exits the process.' },
        { object: 'deno', property: 'addSignalListener', message: 'Only deno/src/process/ listens for signals.' },
        { object: 'Deno', property: 'exit', message: 'Only deno/src/process/ exits the process.' },
        { object: 'Deno', property: 'addSignalListener', message: 'Only deno/src/process/ listens for signals.' },
      ],
    },
  },
)
