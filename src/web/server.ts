/**
 * The web view's HTTP server (node:http, no framework): on 127.0.0.1 at a free port, it serves the
 * page (plain HTML/JS/CSS from src/web/static, shipped as they are: no build step), the current
 * view as JSON (`/view.json`) and live updates as server-sent events (`/events`: an `view` event
 * per change, an `end` event when the session ends or the kernel panics).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { View } from './view.js';

/**
 * Where the page's files are: src/web/static of the package, both from the compiled
 * dist/src/web/server.js and from an installed package (package.json "files" lists the folder).
 */
export const STATIC_DIR = fileURLToPath(new URL('../../../src/web/static/', import.meta.url));

const TYPES: Record<string, string> = {
  '/index.html': 'text/html; charset=utf-8',
  '/app.js': 'text/javascript; charset=utf-8',
  '/style.css': 'text/css; charset=utf-8',
};

export class WebServer {
  private readonly clients = new Set<ServerResponse>();
  private json = 'null';
  private ended: string | null = null;
  private readonly keepAlive: NodeJS.Timeout;

  private constructor(private readonly server: Server, readonly url: string) {
    this.keepAlive = setInterval(() => {
      for (const c of this.clients) c.write(': keep-alive\n\n');
    }, 15000);
    this.keepAlive.unref();
  }

  /** Listens on `host` (default 127.0.0.1) at `port` (default: a free one). */
  static async start(opts: { host?: string; port?: number } = {}): Promise<WebServer> {
    const host = opts.host ?? '127.0.0.1';
    let self: WebServer | null = null;
    const server = createServer((req, res) => self!.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    self = new WebServer(server, `http://${host}:${port}/`);
    return self;
  }

  /** Publishes a new view (sent to every page when it differs from the last one). */
  publish(view: View): void {
    const json = JSON.stringify(view);
    if (json === this.json) return;
    this.json = json;
    for (const c of this.clients) c.write(`event: view\ndata: ${json}\n\n`);
  }

  /** The session is over (`status` 'ended') or the kernel panicked ('panic'): pages show `message`. */
  end(status: 'ended' | 'panic', message: string): void {
    this.ended = JSON.stringify({ status, message });
    for (const c of this.clients) c.write(`event: end\ndata: ${this.ended}\n\n`);
  }

  /** Stops serving (open event streams are closed). */
  async close(): Promise<void> {
    clearInterval(this.keepAlive);
    for (const c of this.clients) c.end();
    this.clients.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' }).end('only GET\n');
      return;
    }
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(`event: view\ndata: ${this.json}\n\n`);
      if (this.ended) res.write(`event: end\ndata: ${this.ended}\n\n`);
      this.clients.add(res);
      req.on('close', () => this.clients.delete(res));
      return;
    }
    if (path === '/view.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(this.json);
      return;
    }
    const file = path === '/' ? '/index.html' : path;
    const type = TYPES[file];
    if (!type) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such page: ${path}\n`);
      return;
    }
    try {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' }).end(readFileSync(STATIC_DIR + file.slice(1)));
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`the page's files are missing (${STATIC_DIR}): ${(e as Error).message}\n`);
    }
  }
}
