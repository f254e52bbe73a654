// @ts-check
import { readdirSync } from 'node:fs';
import prettier from 'eslint-config-prettier';
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

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
  ...moduleBoundaries,
  prettier,
);
