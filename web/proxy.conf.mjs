// Proxy of `ng serve`: the API's routes go to API_URL (default: `make dev`'s
// http://127.0.0.1:9000). The Host header is kept (no changeOrigin), so the
// API sees the browser's Origin as its own origin and accepts the POSTs.
const target = process.env.API_URL || 'http://127.0.0.1:9000';

export default {
  '/auth': { target, secure: true, changeOrigin: false, logLevel: 'warn' },
  '/.well-known': { target, secure: true, changeOrigin: false, logLevel: 'warn' },
};
