#!/usr/bin/env node
// Serves the built app (dist/twofa-web/browser) under the production CSP and
// proxies /auth and /.well-known to the API, as the deployed front end's
// CDN would. Node's standard library only.
//
//   node scripts/serve.mjs [--port 4300] [--host 127.0.0.1] [--api http://127.0.0.1:9000] [--root DIR]
//
// Environment instead of arguments: PORT, HOST, API_URL, WEB_ROOT.
// The proxy keeps the method, every header (Host and Cookie included), the
// body, the status and every Set-Cookie: the API sees the browser's Origin as
// its own origin, and the cookies are first-party.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    api: { type: 'string' },
    root: { type: 'string' },
  },
});
const here = fileURLToPath(new URL('.', import.meta.url));
const port = Number(args.port ?? process.env.PORT ?? 4300);
const host = args.host ?? process.env.HOST ?? '127.0.0.1';
const api = new URL(args.api ?? process.env.API_URL ?? 'http://127.0.0.1:9000');
const root = resolve(args.root ?? process.env.WEB_ROOT ?? join(here, '..', 'dist', 'twofa-web', 'browser'));
const apiBase = api.pathname.replace(/\/+$/, '');

const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
// Connection-level headers belong to one hop, never forwarded.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

function isApiPath(url) {
  return /^\/(auth|\.well-known)(\/|\?|$)/.test(url);
}

function withoutHopByHop(rawHeaders) {
  const kept = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}

function proxy(req, res) {
  const client = api.protocol === 'https:' ? https : http;
  const upstream = client.request(
    {
      protocol: api.protocol,
      hostname: api.hostname,
      port: api.port || (api.protocol === 'https:' ? 443 : 80),
      method: req.method,
      path: apiBase + req.url,
      headers: withoutHopByHop(req.rawHeaders), // rawHeaders: Host and every Cookie as the browser sent them
      servername: api.hostname,
    },
    (answer) => {
      // rawHeaders keeps each Set-Cookie as its own header line.
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, withoutHopByHop(answer.rawHeaders));
      answer.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    console.error(`proxy: ${req.method} ${req.url}: ${err.message}`);
    if (res.headersSent) return res.destroy();
    res.writeHead(502, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ error: 'bad_gateway', message: 'The service cannot be reached. Try again.' }));
  });
  req.pipe(upstream);
}

async function fileFor(pathname) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  const path = normalize(join(root, decoded));
  if (path !== root && !path.startsWith(root + sep)) return null; // no way out of the root
  try {
    const info = await stat(path);
    return info.isFile() ? { path, size: info.size } : null;
  } catch {
    return null;
  }
}

async function serveStatic(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', ...PAGE_HEADERS });
    return res.end();
  }
  const pathname = new URL(req.url, 'http://local').pathname;
  let file = await fileFor(pathname);
  let cache = /-[A-Z0-9]{8}\.(js|css)$/.test(pathname) ? 'public, max-age=31536000, immutable' : 'no-cache';
  if (!file && !extname(pathname)) {
    // A client route (/security/log…): the app's index.html answers it.
    file = await fileFor('/index.html');
    cache = 'no-cache';
  }
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...PAGE_HEADERS });
    return res.end('Not found\n');
  }
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file.path)] ?? 'application/octet-stream',
    'Content-Length': file.size,
    'Cache-Control': cache,
    ...PAGE_HEADERS,
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file.path).pipe(res);
}

const server = http.createServer((req, res) => {
  if (isApiPath(req.url ?? '')) return proxy(req, res);
  serveStatic(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});

server.listen(port, host, () => {
  console.log(`serving ${root} at http://${host}:${port}/ (API: ${api.href})`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
