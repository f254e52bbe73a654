/** Jest: unit specs beside the code (src/**\/*.spec.ts) and e2e specs in test/ (*.e2e-spec.ts).
 * @swc/jest compiles TypeScript with decorator metadata; `npm run check` does the type-checking. */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '(src/.*\\.spec\\.ts|test/.*\\.e2e-spec\\.ts)$',
  transform: { '^.+\\.ts$': swc },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // After each test file: no multipart upload left open in the test S3 servers it started.
  setupFilesAfterEnv: ['<rootDir>/test/support/no-orphaned-uploads.ts'],
  testTimeout: 60000,
};
