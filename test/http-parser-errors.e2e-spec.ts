import { connect } from 'node:net';
import { startTestApp, TestApp } from './support/test-app';

/** Sends raw bytes and resolves with everything the server answers before it closes. */
function rawRequest(baseUrl: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('requests refused by the HTTP parser', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ROLE: 'api' });
  });
  afterAll(() => t.close());

  it('answers an over-long URL with 431 in Connect shape and a request id, not a bare status line', async () => {
    const res = await t.http.get(`/events/purchases?query=${'a'.repeat(20_000)}`);
    expect(res.status).toBe(431);
    expect(res.body).toEqual({ errorMessage: 'The request line (URL) and headers together are larger than 16 KB.' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // The security headers of every other answer (helmet), not only nosniff.
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['content-security-policy']).toBe((await t.http.get('/health')).headers['content-security-policy']);
  });

  it('answers malformed HTTP with 400 in Connect shape', async () => {
    const answer = await rawRequest(t.baseUrl, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(answer.split('\r\n\r\n')[1])).toEqual({ errorMessage: 'The request is not valid HTTP.' });
    expect(answer.split('\r\n\r\n')[0]).toMatch(/\r\nStrict-Transport-Security: max-age=\d+/);
    expect(answer.split('\r\n\r\n')[0]).toMatch(/\r\nContent-Security-Policy: default-src 'self'/);
  });
});
