// @ts-check
import { readdirSync } from 'node:fs';
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * Module boundaries. Every folder under src/ is a module (a Nest feature module, or a shared kernel:
 * common/, config/, database/). A module's public face is its index.ts; code in src/ imports another
 * module only through it (`../query`, not `../query/where-compiler`), and never its own index (a
 * cycle). The shared kernels have index files too, with no exception: their runtime imports form a
 * DAG (config → nothing; common → config; query → common, config; projects → common, config,
 * query; …; database → common, exports, projects, for its entity list), so no module is half-loaded
 * when Nest's decorators read their metadata at import time (a cycle would leave a class undefined
 * in `design:paramtypes`). MetricsModule is the one Nest module left out of its index: it loads
 * exports/ and imports/ (it gauges their queues), which load `Metrics` from metrics/index.ts. Unit specs in src/ follow the rule (they test their own module's files);
 * test/, bench/, scripts/ and ormconfig.ts may import internals: they test or drive them.
 */
const MODULES = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'types') // src/types holds .d.ts shims only
  .map((entry) => entry.name);

const boundaryMessage = 'Import another module through its index (`../query`), not its files (eslint.config.mjs, "Module boundaries").';
const ownIndexMessage = "Import the file itself: a module's own index.ts would be an import cycle.";

/** @param {string[]} others @param {string} prefix */
const internalsOf = (others, prefix) => ({
  regex: `^${prefix}(${others.join('|')})/`,
  message: boundaryMessage,
});

const moduleBoundaries = [
  ...MODULES.map((module) => ({
    files: [`src/${module}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            internalsOf(
              MODULES.filter((m) => m !== module),
              '(\\.\\./)+',
            ),
            { regex: '^\\.{1,2}(/index)?$', message: ownIndexMessage },
            { regex: '^(\\.\\./)+src/', message: boundaryMessage },
          ],
        },
      ],
    },
  })),
  {
    // The composition root (app.module.ts, core.module.ts, main.ts, app.setup.ts) uses modules' index files too.
    files: ['src/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [internalsOf(MODULES, '\\./')] }] },
  },
];

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers and booleans in messages and SQL text are what templates are for; objects, nullish and `any` stay errors.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Without noUncheckedIndexedAccess it calls every guard on an array or record lookup unnecessary; they are not.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // `!` marks invariants the types cannot carry (a Map filled just before, a non-empty stack); throws there would be dead code.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Nest DTO classes describe JSON shapes for OpenAPI; controllers and services build them as object literals.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // Nest modules are empty classes carrying @Module.
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
      // `() => void promise` and `(x) => res.end(x)` one-liners are clear enough.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `[...text].length` counts code points on purpose (collection names, path segments); spread DTOs are plain data.
      '@typescript-eslint/no-misused-spread': 'off',
      // `json<T>()` helpers (bench/, scripts/) name the response shape a caller expects: the type parameter is the cast.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      // supertest's `res.body` and JSON.parse are `any`: asserting their shape is what a test does.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Async stubs and generators stand in for async sources without awaiting anything themselves.
      '@typescript-eslint/require-await': 'off',
      // Fuzzing deletes a random key of a copied document.
      '@typescript-eslint/no-dynamic-delete': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { URL: 'readonly' } },
  },
  ...moduleBoundaries,
  prettier,
);
