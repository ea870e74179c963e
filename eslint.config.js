// Lint rules (`npm run lint`, in CI): ESLint's and typescript-eslint's recommended
// rule sets, without type information (fast, no second compile). Formatting is
// prettier's job (.prettierrc.json); nothing here is about layout.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'tools/dist/', 'node_modules/', 'vendor/', 'python/', 'coverage/', '.tap/', 'bench/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // A `let` read by a closure before its one assignment (a cleanup that needs a pid known later) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Markdown tables in test expectations are easier to read with their spaces as written.
      'no-regex-spaces': 'off',
    },
  },
  // The typings we write for untyped packages may say `any` where the package does.
  { files: ['src/types/**/*.d.ts', 'tools/types/**/*.d.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
)
