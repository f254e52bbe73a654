import { AddressInfo, createServer, Server, Socket, connect } from 'node:net';

/**
 * A TCP proxy the test controls, forwarding a loopback port to `target` (PostgreSQL), so a test can
 * take the database away from the app without touching the shared server:
 * - `cut()`: drops every open connection and refuses new ones (as a stopped server does);
 * - `blackhole()`: drops every open connection and accepts new ones but never answers (as an
 *   unreachable host does: only client timeouts end the wait);
 * - `freeze()`: keeps every open connection but drops the bytes on it from now on, and holds new
 *   ones unanswered (a frozen host, or a network losing packets: no reset ever arrives);
 * - `restore()`: forwards again, on the same port (connections frozen before stay dead).
 */
export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  blackhole(): Promise<void>;
  freeze(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let mode: 'forward' | 'blackhole' = 'forward';
  const pairs = new Set<[Socket, Socket]>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const onConnection = (client: Socket) => {
    track(client);
    if (mode === 'blackhole') return; // held open, never answered
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.once('close', () => pairs.delete(pair));
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  };
  let server: Server = createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const stopListening = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  const dropAll = () => sockets.forEach((s) => s.destroy());
  const port = await listen(0);
  return {
    port,
    cut: async () => {
      const closed = stopListening();
      dropAll();
      await closed;
    },
    blackhole: async () => {
      mode = 'blackhole';
      dropAll();
      if (!server.listening) await listen(port);
    },
    freeze: () => {
      mode = 'blackhole';
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.resume(); // read and drop
        upstream.resume();
      }
      pairs.clear();
    },
    restore: async () => {
      mode = 'forward';
      if (!server.listening) await listen(port);
    },
    close: async () => {
      const closed = stopListening();
      dropAll();
      await closed;
    },
  };
}
