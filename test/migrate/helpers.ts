/** Real TCP sockets on 127.0.0.1 for the migration tests. */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** Listens on an ephemeral port; each connection goes to `onConn`. */
export async function listen(onConn: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConn);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { server, port: addr.port };
}

export function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** A server that hands out the next accepted socket. */
export async function oneConnection(): Promise<{ port: number; accepted: Promise<Socket>; close: () => void }> {
  let give: (s: Socket) => void = () => {};
  const accepted = new Promise<Socket>((r) => (give = r));
  const { server, port } = await listen((s) => give(s));
  return { port, accepted, close: () => server.close() };
}
