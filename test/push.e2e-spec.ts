import { auth, startTestApp, TestApp } from './support/test-app';
import type { CreatedProject } from '../src/projects/projects.service';

describe('push (connect-api.md §3)', () => {
  let t: TestApp;
  let project: CreatedProject;

  beforeAll(async () => {
    t = await startTestApp();
    project = await t.createProject();
  });
  afterAll(() => t.close());

  const exportAll = async (collection: string) => {
    const res = await t.http.get(`/events/${encodeURIComponent(collection)}/export`).set(auth(project, 'query'));
    expect(res.status).toBe(200);
    return res.body.results as Array<Record<string, unknown>>;
  };

  it('stores test vector 1 and answers 200 with an empty body', async () => {
    const res = await t.http
      .post('/events/vector1')
      .set(auth(project, 'push'))
      .send({ customer: { firstName: 'Tom', lastName: 'Smith' }, product: '12 red roses', purchasePrice: 34.95 });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const [event] = await exportAll('vector1');
    expect(event).toMatchObject({ customer: { firstName: 'Tom', lastName: 'Smith' }, product: '12 red roses', purchasePrice: 34.95 });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
