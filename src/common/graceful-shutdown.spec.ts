import express from 'express';
import { once } from 'node:events';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, Socket } from 'node:net';
import { HttpDrain } from './graceful-shutdown';
import { closeUnreadBodies, readJsonBody } from './json-body';

/** The head (status line and headers) of the first answer on `socket`. */
async function responseHead(socket: Socket): Promise<string> {
  let text = '';
  for await (const chunk of socket) {
    text += (chunk as Buffer).toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end >= 0) return text.slice(0, end);
  }
  return text;
}

describe('HttpDrain', () => {
  let server: Server;
  let drain: HttpDrain;

  beforeEach(async () => {
    // As createHttpApp orders them: closeUnreadBodies first, the endpoint's body read later.
    const app = express();
    app.use(closeUnreadBodies(100));
    app.post('/events/c', (request, response, next) => {
      readJsonBody(request, response, { limitBytes: 1024 }).then(() => response.status(200).end(), next);
    });
    server = createServer(app);
    drain = new HttpDrain(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterEach(() => {
    drain.destroy();
    server.close();
  });

  it('answers a push whose body was still arriving at the stop with Connection: close', async () => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    const body = '{"n":1,"pad":"xxxxxxxxxx"}';
    socket.write(`POST /events/c HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.slice(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = drain.stop();
    expect(drain.inFlight).toBe(1);
    socket.write(body.slice(5));
    const head = await responseHead(socket);
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    // Without the header a keep-alive client sends its next request on a connection about to be closed (a reset).
    expect(head).toMatch(/\r\nConnection: close(\r\n|$)/i);
    await closed;
  });

  it('keeps the connection of a push answered before any stop open (reading the body lifts the close closeUnreadBodies set)', async () => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    const body = '{"n":1}';
    socket.write(`POST /events/c HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const head = await responseHead(socket);
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(head).not.toMatch(/\r\nConnection: close/i);
    socket.destroy();
  });
});
