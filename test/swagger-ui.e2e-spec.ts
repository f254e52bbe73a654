import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import type { CreatedProject } from '../src/projects/projects.service';
import { launchChromium } from './support/chromium';
import { auth, startTestApp, TestApp } from './support/test-app';

/**
 * Swagger UI at /docs in a real browser (Debian's chromium, headless; CI installs it with apt, and
 * this test fails rather than skips without it): Authorize with the project's id and key, then
 * "Try it out" on POST /events/{collection} pushes an event the API really stores. Runs under the
 * app's own helmet Content-Security-Policy, against the test server's origin.
 */

describe('Swagger UI (/docs) in headless Chromium', () => {
  let t: TestApp;
  let project: CreatedProject;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    project = await t.createProject('swagger-ui');
    browser = await launchChromium();
    page = await browser.newPage();
    // A CSP violation or a script error would break the UI without failing any click below.
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Fills the value of one apiKey scheme in the open Authorize dialog and authorizes it. */
  async function authorize(scheme: string, value: string): Promise<void> {
    // Each scheme is a form of its own, headed "<name> (apiKey)".
    const container = page
      .locator('.modal-ux form')
      .filter({ has: page.locator('h4', { hasText: new RegExp(`^\\s*${scheme}\\s*\\(apiKey\\)`) }) });
    await container.locator('input').fill(value);
    await container.locator('button[type="submit"]').click();
    await container.getByText('Authorized').waitFor();
  }

  it('authorizes with X-Project-Id and X-Api-Key, pushes an event with "Try it out", and the event is stored', async () => {
    const collection = `swagger-ui-${randomBytes(4).toString('hex')}`;
    const event = { product: '12 red roses', purchasePrice: 34.95, via: 'swagger-ui' };

    await page.goto(`${t.baseUrl}/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();

    await page.locator('.auth-wrapper button.authorize').click();
    await authorize('projectId', project.projectId);
    await authorize('apiKey', project.keys.push);
    await page.locator('.modal-ux button.btn-done').first().click();
    await page.locator('.modal-ux').waitFor({ state: 'detached' });

    const operation = page.locator('#operations-events-Events_pushOne');
    await operation.locator('.opblock-summary').click();
    // The lock icon of the operation shows it uses the schemes just authorized.
    await operation.locator('button.authorization__btn[aria-label="authorization button locked"]').waitFor();
    await operation.locator('button.try-out__btn').click();
    await operation.locator('tr[data-param-name="collection"] input').fill(collection);
    await operation.locator('textarea.body-param__text').fill(JSON.stringify(event));
    await operation.locator('button.execute').click();

    const live = operation.locator('.live-responses-table .response');
    await live.first().waitFor({ timeout: 15_000 });
    expect((await live.first().locator('.response-col_status').innerText()).trim()).toBe('200');
    // The request went to this server's origin, with the authorized headers.
    const curl = await operation.locator('.curl-command').innerText();
    expect(curl).toContain(`${t.baseUrl}/events/${collection}`);
    expect(curl).toContain(`X-Project-Id: ${project.projectId}`);
    expect(curl).toContain(`X-Api-Key: ${project.keys.push}`);

    // The event is really stored: a small export of the collection returns it.
    const stored = await t.http.get(`/events/${collection}/export`).set(auth(project, 'query'));
    expect(stored.status).toBe(200);
    expect(stored.body.results).toEqual([{ ...event, id: expect.any(String), timestamp: expect.any(String) }]);
    expect(problems).toEqual([]);
  }, 60_000);
});
