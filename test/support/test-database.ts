/**
 * URL of the tests' own database (`connect_test_<hash of the checkout path>`, or TEST_DATABASE_NAME),
 * which jest's global setup (global-setup.ts) makes afresh, migrates and hands to every test file in
 * DATABASE_URL; global-teardown.ts drops it.
 * @throws Error when jest runs without that global setup.
 */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url || !process.env.TEST_DATABASE_READY) {
    throw new Error('the test database is made by jest global setup: run jest with --config jest.config.js');
  }
  return url;
}
