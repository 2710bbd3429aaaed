import { defineConfig } from '@playwright/test';

// Browser tests against the built app as scripts/serve.mjs serves it (CSP on).
// WEB_URL: an already running front end; without it, serve.mjs is started on
// WEB_PORT (default 4300) in front of API_URL (default http://127.0.0.1:9000).
// Never downloads a browser: Debian's Chromium (CHROMIUM_PATH) is driven.
// The pages load from http://localhost:<port>, not 127.0.0.1: WebAuthn refuses
// an IP address, and the API's relying party id is `localhost` (serve.mjs
// listens on 127.0.0.1, which localhost reaches).
const webUrl = process.env['WEB_URL'];
const port = process.env['WEB_PORT'] ?? '4300';
const apiUrl = process.env['API_URL'] ?? 'http://127.0.0.1:9000';

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: webUrl ?? `http://localhost:${port}`,
    browserName: 'chromium',
    viewport: { width: 1000, height: 800 },
    launchOptions: {
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      // Without the background-networking flags Chromium dials out, which this
      // machine's closed network refuses.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
  webServer: webUrl
    ? undefined
    : {
        command: `node scripts/serve.mjs --port ${port} --api ${apiUrl}`,
        url: `http://127.0.0.1:${port}/`,
        reuseExistingServer: false,
        stdout: 'pipe',
        timeout: 15_000,
      },
});
