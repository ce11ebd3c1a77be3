/**
 * A tiny static server for the browser demo (and the browser tests):
 *   /             the demo page (examples/browser/index.html)
 *   /app.js       the demo bundle
 *   /eventide.js  the 'eventide/browser' bundle
 *   /blank.html   an empty page that loads nothing (the host tests import
 *                 /eventide.js into it themselves)
 * Only these paths are served; everything else is 404.
 *
 * `npm run demo:browser` builds the bundles and serves on
 * http://127.0.0.1:8080/ (PORT to change; a free port if 8080 is taken).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildBrowserBundles, DEMO_BUNDLE, LIBRARY_BUNDLE, ROOT } from './build.js';

const BLANK_PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>blank</title></head><body></body></html>';

const ROUTES = new Map<string, { file?: string; body?: string; type: string }>([
  ['/', { file: join(ROOT, 'examples', 'browser', 'index.html'), type: 'text/html; charset=utf-8' }],
  ['/index.html', { file: join(ROOT, 'examples', 'browser', 'index.html'), type: 'text/html; charset=utf-8' }],
  ['/app.js', { file: DEMO_BUNDLE, type: 'text/javascript; charset=utf-8' }],
  ['/app.js.map', { file: `${DEMO_BUNDLE}.map`, type: 'application/json' }],
  ['/eventide.js', { file: LIBRARY_BUNDLE, type: 'text/javascript; charset=utf-8' }],
  ['/eventide.js.map', { file: `${LIBRARY_BUNDLE}.map`, type: 'application/json' }],
  ['/blank.html', { body: BLANK_PAGE, type: 'text/html; charset=utf-8' }],
  ['/favicon.ico', { body: '', type: 'image/x-icon' }],
]);

export interface DemoServer {
  /** e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the demo on `host:port` (port 0: any free port).
 *
 * @example
 * const server = await startDemoServer();
 * console.log(server.url);
 * await server.close();
 */
export async function startDemoServer(options: { port?: number; host?: string } = {}): Promise<DemoServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const route = ROUTES.get(path);
    if (route === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const send = (body: string | Buffer): void => {
      response.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : body);
    };
    if (route.body !== undefined) send(route.body);
    else
      readFile(route.file as string).then(send, () => {
        response.writeHead(404, { 'content-type': 'text/plain' }).end(`${path}: not built — run npm run build:browser\n`);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildBrowserBundles();
  const port = Number(process.env['PORT'] ?? 8080);
  let server: DemoServer;
  try {
    server = await startDemoServer({ port });
  } catch {
    server = await startDemoServer({ port: 0 });
  }
  console.log(`eventide browser demo: ${server.url}   (plain promises: ${server.url}?mode=plain)  — Ctrl+C to stop`);
}
