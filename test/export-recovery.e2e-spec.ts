import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { pathOf, waitForExport } from './support/exports';
import { startS3Server, TestS3Server } from './support/s3-server';
import { auth, startTestApp, testKeyPrefix } from './support/test-app';

describe('an export whose Redis job was lost', () => {
  let s3: TestS3Server;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['recovery'] });
  });
  afterAll(() => s3.close());

  it('is queued again when a worker starts, and completes (monitoring lives in PostgreSQL)', async () => {
    const prefix = testKeyPrefix('recovery');
    const api = await startTestApp({ ROLE: 'api', QUEUE_PREFIX: prefix, S3_ALLOWED_ENDPOINTS: s3.endpoint });
    const project = await api.createProject();
    await api.http.post('/events/lost').set(auth(project, 'push')).send({ n: 1, timestamp: '2020-01-01T00:00:00Z' }).expect(200);
    const res = await api.http
      .post('/events/lost/export')
      .set(auth(project, 'query'))
      .send({ s3Path: `${s3.endpoint}/recovery/`, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey });
    expect(res.status).toBe(201);
    const queue = api.app.get<Queue>(getQueueToken('exports'));
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 1 });
    await api.close(); // also wipes the queue's keys: as if Redis had been flushed

    const worker = await startTestApp({ ROLE: 'all', QUEUE_PREFIX: prefix });
    try {
      const { final } = await waitForExport(worker.http, pathOf(res.headers.location), auth(project, 'query'));
      expect(final.status).toBe('Complete');
      const object = await s3.getObject('recovery', final.filename);
      expect(JSON.parse(object.toString())).toEqual({ id: expect.any(String), timestamp: '2020-01-01T00:00:00.000Z', n: 1 });
    } finally {
      await worker.close();
    }
  });
});
