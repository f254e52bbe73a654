import http from 'node:http';

/** An HTTP answer, body unparsed. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A minimal keep-alive HTTP client for the service on loopback. Plain `node:http` rather than
 * `fetch`, so the client's own overhead in the timings is as small as it can be.
 */
export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    readonly baseUrl: string,
    maxSockets = 16,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /**
   * One request. A keep-alive socket the server closed just as it was reused fails with
   * ECONNRESET before any answer; such a request is sent once more on a fresh socket (every
   * request of the harness is safe to repeat: pushed events carry ids).
   */
  async request(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<HttpAnswer> {
    try {
      return await this.send(method, path, headers, body);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') throw error;
      return this.send(method, path, headers, body);
    }
  }

  private send(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<HttpAnswer> {
    const url = new URL(path, this.baseUrl);
    const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Parses a JSON answer, expecting `status`. @throws Error with the body when the status differs. */
  async json<T>(
    method: string,
    path: string,
    headers: Record<string, string>,
    status: number,
    body?: unknown,
  ): Promise<{ body: T; headers: http.IncomingHttpHeaders }> {
    const answer = await this.request(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    if (answer.status !== status) {
      throw new Error(`${method} ${path}: expected HTTP ${status}, got ${answer.status}: ${answer.body.toString('utf8').slice(0, 500)}`);
    }
    return { body: (answer.body.length > 0 ? JSON.parse(answer.body.toString('utf8')) : undefined) as T, headers: answer.headers };
  }

  close(): void {
    this.agent.destroy();
  }
}
