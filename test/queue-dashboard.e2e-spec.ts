import { launchChromium } from './support/chromium';
import { startTestApp, TEST_ADMIN_TOKEN, TestApp } from './support/test-app';

/** Debian's chromium (CI installs it with apt). Missing, the browser test fails: it never skips. */

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The Bull dashboard at /admin/queues (docs/monitoring.md, "Queue dashboard"). */
describe('queue dashboard /admin/queues', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api' });
  });
  afterAll(() => t?.close());

  it('asks for HTTP Basic credentials (401, WWW-Authenticate) without the token or with a wrong one', async () => {
    for (const headers of [
      {},
      { Authorization: basic('admin', 'wrong-password-123456') },
      { Authorization: basic(TEST_ADMIN_TOKEN, '') },
      { 'X-Admin-Token': 'wrong-token-1234567890' },
    ]) {
      for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/js/main.js']) {
        const res = await t.http.get(path).set(headers);
        expect({ path, status: res.status, challenge: res.headers['www-authenticate'] }).toEqual({
          path,
          status: 401,
          challenge: 'Basic realm="connect admin"',
        });
        expect(res.body).toEqual({ errorMessage: expect.stringContaining('admin token') });
      }
    }
  });

  it('lets in the admin token as the Basic password (any user name) or as X-Admin-Token', async () => {
    for (const headers of [
      { Authorization: basic('admin', TEST_ADMIN_TOKEN) },
      { Authorization: basic('', TEST_ADMIN_TOKEN) },
      { Authorization: basic('someone', TEST_ADMIN_TOKEN) },
      { 'X-Admin-Token': TEST_ADMIN_TOKEN },
    ]) {
      const page = await t.http.get('/admin/queues').set(headers);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.headers['cache-control']).toBe('no-store');
      const api = await t.http.get('/admin/queues/api/queues').set(headers);
      expect(api.status).toBe(200);
      expect(api.headers['cache-control']).toBe('no-store');
      expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(['exports', 'imports']);
      expect(api.body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toBe(true);
    }
  });

  it('is off (404) when ADMIN_TOKEN is unset', async () => {
    const off = await startTestApp({ ROLE: 'api', ADMIN_TOKEN: '' });
    try {
      for (const headers of [{}, { Authorization: basic('admin', TEST_ADMIN_TOKEN) }]) {
        const res = await off.http.get('/admin/queues').set(headers);
        expect({ status: res.status, body: res.body }).toEqual({ status: 404, body: { errorMessage: 'Not found.' } });
      }
    } finally {
      await off.close();
    }
  });

  it('shows the export and import queues in headless Chromium, logged in with HTTP Basic, within the CSP', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ httpCredentials: { username: 'admin', password: TEST_ADMIN_TOKEN } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      const failed: string[] = [];
      page.on('response', (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
      });
      const response = await page.goto(`${t.baseUrl}/admin/queues`, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      // The app renders the queue list from its API: the queue names appear once its scripts ran.
      await page.getByText('exports', { exact: true }).first().waitFor({ timeout: 15_000 });
      await page.getByText('imports', { exact: true }).first().waitFor({ timeout: 15_000 });
      expect(failed).toEqual([]);
      // The only thing the CSP refuses is the web font stylesheet from fonts.googleapis.com (docs/monitoring.md).
      expect(problems.filter((p) => !p.includes('fonts.googleapis.com'))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
