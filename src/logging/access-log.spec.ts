import express, { Router } from 'express';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestIds } from '../common';
import { accessLog } from './access-log';
import { createLogger } from './logger';

describe('accessLog', () => {
  it("names the route pattern with its router's mount path (the queue dashboard's API), as http_request_duration_seconds does", async () => {
    const lines: string[] = [];
    const logger = createLogger('json', 'info', { write: (line: string) => void lines.push(line) });
    const app = express();
    app.use(requestIds);
    app.use(accessLog(logger));
    const dashboard = Router();
    dashboard.get('/api/queues/:queueName', (_request, response) => response.json({}));
    dashboard.use('/static', (_request, response) => response.send('x')); // its files: middleware, not a route
    app.use('/admin/queues', dashboard);
    app.get('/events/:collection', (_request, response) => response.json({}));
    const server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const path of ['/admin/queues/api/queues/exports', '/admin/queues/static/x.js', '/events/purchases', '/nowhere'])
        await (await fetch(base + path)).text();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const routes = lines
        .map((line) => JSON.parse(line) as { route: string | null; msg: string })
        .map(({ route, msg }) => ({ route, msg }));
      expect(routes).toEqual([
        {
          route: '/admin/queues/api/queues/:queueName',
          msg: expect.stringMatching(/^GET \/admin\/queues\/api\/queues\/:queueName 200 \d+ ms$/),
        },
        { route: '/admin/queues/static/*', msg: expect.stringMatching(/^GET \/admin\/queues\/static\/\* 200 \d+ ms$/) },
        { route: '/events/:collection', msg: expect.stringMatching(/^GET \/events\/:collection 200 \d+ ms$/) },
        { route: null, msg: expect.stringMatching(/^GET \(no route\) 404 \d+ ms$/) },
      ]);
    } finally {
      server.close();
    }
  });
});
