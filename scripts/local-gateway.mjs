#!/usr/bin/env node
// What API Gateway does in front of the functions and `cargo lambda watch`
// does not: CORS, as infra/template.yaml's HttpApi CorsConfiguration sets it.
// `make dev` and `make test` serve the API through this, so a front end on
// another origin (the tutorial's client with `apiUrl` = the API) meets the
// same answers locally as deployed. Node's standard library only.
//
//   node scripts/local-gateway.mjs --port 9000 --upstream http://127.0.0.1:9001
//
// ALLOWED_ORIGINS (comma-separated, as the functions read it) lists the
// origins allowed with credentials. For them: a preflight gets 204 with the
// CORS headers, every other answer gets Access-Control-Allow-Origin (that
// origin), -Allow-Credentials and -Expose-Headers. Any other origin: a
// preflight gets 204 with no CORS header (the browser refuses the request),
// other answers pass unchanged (the browser hides them from the page). The
// request itself is forwarded as it came (Host, Origin and every Cookie
// kept): the functions' own Origin rule still applies.
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string' }, upstream: { type: 'string' } },
});
const port = Number(args.port ?? 9000);
const host = args.host ?? '127.0.0.1';
const upstream = new URL(args.upstream ?? 'http://127.0.0.1:9001');

// The template's CorsConfiguration, word for word.
const ALLOW_METHODS = ['GET', 'POST'];
const ALLOW_HEADERS = ['content-type', 'authorization'];
const EXPOSE_HEADERS = ['retry-after', 'www-authenticate'];
const MAX_AGE = 600;

const allowed = new Set(
  (process.env.ALLOWED_ORIGINS ?? process.env.ALLOWED_ORIGIN ?? '')
    .split(',')
    .map((origin) => origin.trim().toLowerCase())
    .filter(Boolean),
);

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

function withoutHopByHop(rawHeaders) {
  const kept = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}

function allowedOrigin(req) {
  const origin = req.headers.origin;
  return origin && allowed.has(origin.toLowerCase()) ? origin : null;
}

function preflight(req, res) {
  const origin = allowedOrigin(req);
  const method = (req.headers['access-control-request-method'] ?? '').toUpperCase();
  const headers = (req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const ok = origin && ALLOW_METHODS.includes(method) && headers.every((h) => ALLOW_HEADERS.includes(h));
  res.writeHead(
    204,
    ok
      ? {
          'Access-Control-Allow-Origin': origin,
          'Access-Control-Allow-Credentials': 'true',
          'Access-Control-Allow-Methods': ALLOW_METHODS.join(','),
          'Access-Control-Allow-Headers': ALLOW_HEADERS.join(','),
          'Access-Control-Max-Age': String(MAX_AGE),
          Vary: 'Origin',
        }
      : {},
  );
  res.end();
}

function forward(req, res) {
  const origin = allowedOrigin(req);
  const upstreamRequest = http.request(
    {
      hostname: upstream.hostname,
      port: upstream.port || 80,
      method: req.method,
      path: req.url,
      headers: withoutHopByHop(req.rawHeaders),
    },
    (answer) => {
      const headers = withoutHopByHop(answer.rawHeaders);
      if (origin) {
        headers.push(
          'Access-Control-Allow-Origin', origin,
          'Access-Control-Allow-Credentials', 'true',
          'Access-Control-Expose-Headers', EXPOSE_HEADERS.join(','),
          'Vary', 'Origin',
        );
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
      answer.pipe(res);
    },
  );
  upstreamRequest.on('error', (err) => {
    console.error(`gateway: ${req.method} ${req.url}: ${err.message}`);
    if (res.headersSent) return res.destroy();
    res.writeHead(503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Retry-After': '2' });
    res.end(JSON.stringify({ error: 'service_unavailable', message: 'The service is briefly unavailable. Try again.' }));
  });
  req.pipe(upstreamRequest);
}

const server = http.createServer((req, res) => {
  if (req.method === 'OPTIONS' && req.headers.origin && req.headers['access-control-request-method']) {
    return preflight(req, res);
  }
  forward(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => {
  console.log(`gateway on http://${host}:${port} -> ${upstream.href}; CORS for ${[...allowed].join(', ') || 'no origin'}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
