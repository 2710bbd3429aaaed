// What the journeys share: the environment, a page that fails on a CSP
// violation, RFC 6238 codes, users made through the API, the operator's
// grant-admin, the mail the API sent (moto's SES), screenshots and axe.
import AxeBuilder from '@axe-core/playwright';
import { APIRequestContext, BrowserContext, CDPSession, Page, test as base, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = process.env['REPO_DIR'] ?? resolve(webDir, '..');
export const SCREENSHOT_DIR = process.env['SCREENSHOT_DIR'] ?? join(REPO_DIR, '.local', 'screenshots');
export const DOCS_DIR = join(webDir, 'docs');
const MOTO_URL = process.env['MOTO_URL'] ?? process.env['AWS_ENDPOINT_URL'] ?? 'http://127.0.0.1:5050';
const TABLE_NAME = process.env['TABLE_NAME'] ?? 'twofa-local';

/** The page of each test fails it on a CSP violation, an uncaught error or any console error but a failed request. */
export const test = base.extend({
  page: async ({ page }, use) => {
    const problems = await watch(page);
    await use(page);
    expect(problems, 'CSP violations, uncaught errors and console errors').toEqual([]);
  },
});
export { expect };

/** Collects what must not happen on a page (call it for pages of extra contexts too). */
export async function watch(page: Page): Promise<string[]> {
  const problems: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
    });
  });
  page.on('console', (message) => {
    // A 4xx answer logs "Failed to load resource": the app expects those (401 before a refresh, wrong codes).
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(message.text());
    }
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return problems;
}

// ---- RFC 6238: SHA1, 6 digits, 30-second steps ----

function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    const value = alphabet.indexOf(char);
    if (value < 0) throw new Error(`not base32: ${char}`);
    bits += value.toString(2).padStart(5, '0');
  }
  const bytes = bits.match(/.{8}/g) ?? [];
  return Buffer.from(bytes.map((byte) => parseInt(byte, 2)));
}

export function totp(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

const lastStep = new Map<string, number>();

/**
 * A code the API accepts now: a step is accepted once per user, never one
 * before the last accepted, and within one step of the clock. So the next
 * code is the earliest step still in the window after the last one used;
 * when that is ahead of the window, wait for the clock. The earliest step
 * is the one that leaves the window first: it is chosen so that it stays
 * accepted for at least `margin` seconds, the time a page may take from the
 * code to the API's check (typing, a busy debug build on two cores).
 */
export async function nextCode(secret: string): Promise<string> {
  const margin = 10; // seconds the code stays good: typed into a page, sent, checked
  for (;;) {
    const now = Date.now() / 1000;
    const earliest = Math.floor((now + margin) / 30) - 1;
    const latest = Math.floor(now / 30) + 1;
    const step = Math.max((lastStep.get(secret) ?? -Infinity) + 1, earliest);
    if (step <= latest) {
      lastStep.set(secret, step);
      return totp(secret, step);
    }
    const wait = ((step - 1) * 30 - now + 0.5) * 1000;
    console.log(`waiting ${Math.ceil(wait / 1000)} s for the next TOTP step`);
    await new Promise((done) => setTimeout(done, wait));
  }
}

/** Six digits that are none of the codes the API would accept now. */
export function wrongCode(secret: string): string {
  const now = Math.floor(Date.now() / 30_000);
  const valid = new Set([-2, -1, 0, 1, 2].map((d) => totp(secret, now + d)));
  for (let n = 123456; ; n = (n + 111111) % 1_000_000) {
    const code = n.toString().padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

// ---- users made through the API (same cookies as the browser context) ----

export interface TestUser {
  email: string;
  password: string;
  secret?: string;
  backupCodes?: string[];
}

export function newEmail(tag: string): string {
  return `e2e-${tag}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}@example.com`;
}

async function ok(response: Awaited<ReturnType<APIRequestContext['post']>>): Promise<unknown> {
  expect(response.status(), `${response.url()}: ${await response.text()}`).toBeLessThan(300);
  return response.status() === 204 ? null : response.json();
}

/** The token of a verification mail's link, posted as the verify-email page would. */
export async function verifyEmail(request: APIRequestContext, email: string, nth = 1): Promise<void> {
  const link = await mailLink(email, '/verify-email', nth);
  const token = new URLSearchParams(link.slice(link.indexOf('#') + 1)).get('token');
  await ok(await request.post('/auth/email/verify', { data: { token } }));
}

/**
 * Registers and signs in a user through the context's request client, whose
 * cookies are the browser's: the browser is then signed in as that user. The
 * address is verified with the sign-up mail's link (turning 2FA on needs it,
 * and so does the admin role) unless `verified: false`.
 */
export async function createUser(
  request: APIRequestContext,
  tag: string,
  options: { twoFactor?: boolean; signedIn?: boolean; verified?: boolean } = {},
): Promise<TestUser> {
  const user: TestUser = { email: newEmail(tag), password: `pw-${randomBytes(8).toString('hex')}` };
  const credentials = { email: user.email, password: user.password };
  await ok(await request.post('/auth/register', { data: credentials }));
  if (options.verified !== false || options.twoFactor) await verifyEmail(request, user.email);
  await ok(await request.post('/auth/login', { data: credentials }));
  if (options.twoFactor) {
    const setup = (await ok(await request.post('/auth/2fa/setup'))) as { secret: string };
    user.secret = setup.secret;
    const enabled = (await ok(
      await request.post('/auth/2fa/enable', { data: { code: await nextCode(setup.secret) } }),
    )) as { backupCodes: string[] };
    user.backupCodes = enabled.backupCodes;
  }
  if (options.signedIn === false) await ok(await request.post('/auth/logout'));
  return user;
}

// ---- passkeys: Chromium's virtual authenticator (DevTools protocol) ----

export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
}

/**
 * A platform authenticator for the page (it serves every page of the tab, across
 * navigations): CTAP2, internal, user verification that succeeds, presence
 * simulated. `synced: true` makes its credentials backup-eligible (the API's
 * "synced").
 *
 * `discoverable: true` gives it resident keys, so its passkeys also sign in
 * without an account named (API.md "Sign-in with a passkey"). Without it they
 * serve as second factors only: the sign-in page asks the browser for a
 * discoverable passkey on arrival (a conditional request, for the email
 * field's autofill), and this authenticator, which has no autofill list to
 * wait on, answers one at once, as if the person picked it the moment the page
 * opened. Journeys that sign in with the password on a browser holding a
 * passkey keep theirs non-discoverable: the conditional request finds none
 * and the page says nothing, as for a person who types the password.
 */
export async function addVirtualAuthenticator(
  page: Page,
  options: { synced?: boolean; discoverable?: boolean } = {},
): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: options.discoverable ?? false,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...(options.synced ? { defaultBackupEligibility: true, defaultBackupState: true } : {}),
    },
  });
  return { cdp, authenticatorId };
}

/** The next responses of the authenticator: a bogus signature, or no user verification; `{}` resets. */
export async function overrideResponses(
  { cdp, authenticatorId }: VirtualAuthenticator,
  bits: { isBogusSignature?: boolean; isBadUV?: boolean; isBadUP?: boolean },
): Promise<void> {
  await cdp.send('WebAuthn.setResponseOverrideBits', {
    authenticatorId,
    isBogusSignature: bits.isBogusSignature ?? false,
    isBadUV: bits.isBadUV ?? false,
    isBadUP: bits.isBadUP ?? false,
  });
}

/**
 * Presence simulated (the default) or not. Without it a request waits, as a
 * browser's does while the person does nothing: a conditional request of the
 * sign-in page then keeps waiting (even once presence is back), as it does
 * for a person who does not pick the passkey offered in the autofill.
 */
export async function simulatePresence({ cdp, authenticatorId }: VirtualAuthenticator, enabled: boolean): Promise<void> {
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
}

/** The credentials the authenticator holds (private keys included: a test may copy one to another authenticator). */
export async function credentialsOf({ cdp, authenticatorId }: VirtualAuthenticator) {
  return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
}

// ---- sessions: an old proof, made in the emulator's table ----

/** The claims of the context's access token (the cookie is HttpOnly for the page, not for the test). */
export async function accessClaims(context: BrowserContext): Promise<{ sub: string; sid: string; auth_time: number }> {
  const cookie = (await context.cookies()).find((c) => c.name === 'access_token');
  expect(cookie, 'an access_token cookie').toBeTruthy();
  const payload = cookie!.value.split('.')[1];
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

async function dynamo(target: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(MOTO_URL, {
    method: 'POST',
    headers: {
      'X-Amz-Target': `DynamoDB_20120810.${target}`,
      'Content-Type': 'application/x-amz-json-1.0',
      // moto checks no signature; the header only has to look like one.
      Authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.ok, `DynamoDB ${target}: ${text}`).toBe(true);
  return text ? JSON.parse(text) : {};
}

/**
 * Makes the context's session an old one: its proof an hour back, directly in
 * moto's table, and the access cookie deleted, so that the page's next request
 * refreshes and gets an access token with that old `auth_time`: a route that
 * needs a recent proof then answers `401 reauthentication_required` for real.
 * The session item is `pk = USER#<sub>`, `sk = SESSION#<sid>`
 * (shared/src/store/keys.rs); its `authTime` (Unix seconds) is what a refresh
 * puts in the access token's `auth_time`, while the 30-day end counts from its
 * own `startedAt`, which stays (shared/src/store/records.rs). The profile
 * keeps no time of the last proof.
 */
export async function ageSession(context: BrowserContext, seconds = 3600): Promise<void> {
  const { sub, sid } = await accessClaims(context);
  const key = { pk: { S: `USER#${sub}` }, sk: { S: `SESSION#${sid}` } };
  const item = (await dynamo('GetItem', { TableName: TABLE_NAME, Key: key, ConsistentRead: true }))['Item'] as
    | Record<string, { N?: string }>
    | undefined;
  const current = Number(item?.['authTime']?.N);
  const now = Date.now() / 1000;
  expect(Math.abs(now - current), `session ${sid} of ${sub}: authTime in Unix seconds, recent`).toBeLessThan(900);
  await dynamo('UpdateItem', {
    TableName: TABLE_NAME,
    Key: key,
    UpdateExpression: 'SET authTime = :old',
    ConditionExpression: 'attribute_exists(pk) AND authTime = :current',
    ExpressionAttributeValues: { ':old': { N: String(current - seconds) }, ':current': { N: String(current) } },
  });
  await context.clearCookies({ name: 'access_token' });
}

/** The operator's command, as the README has it: make grant-admin with an already built authctl. */
export function grantAdmin(email: string): void {
  const authctl = process.env['AUTHCTL_BIN'] ?? findAuthctl();
  execFileSync('make', ['-s', 'grant-admin', `EMAIL=${email}`, `TABLE=${TABLE_NAME}`], {
    cwd: REPO_DIR,
    stdio: 'pipe',
    env: {
      ...process.env,
      AUTHCTL_BIN: authctl,
      AWS_ENDPOINT_URL: MOTO_URL,
      AWS_ACCESS_KEY_ID: process.env['AWS_ACCESS_KEY_ID'] ?? 'testing',
      AWS_SECRET_ACCESS_KEY: process.env['AWS_SECRET_ACCESS_KEY'] ?? 'testing',
      AWS_REGION: process.env['AWS_REGION'] ?? 'us-east-1',
      // authctl mails the user a notice of some commands: the local stack's sender and front end.
      MAIL_FROM: process.env['MAIL_FROM'] ?? 'no-reply@twofa.example.com',
      WEB_BASE_URL: process.env['WEB_BASE_URL'] ?? 'http://localhost:4200',
    },
  });
}

/** AUTHCTL_BIN unset: the debug build in target/<triple>/debug, never a new build. */
function findAuthctl(): string {
  const target = join(REPO_DIR, 'target');
  const triples = existsSync(target) ? readdirSync(target) : [];
  for (const dir of [...triples.map((t) => join(target, t, 'debug')), join(target, 'debug')]) {
    if (existsSync(join(dir, 'authctl'))) return join(dir, 'authctl');
  }
  throw new Error('Set AUTHCTL_BIN to a built authctl (the tests never build Rust).');
}

// ---- mail: moto's SES keeps every message the API sent ----

interface SentMail {
  destinations?: { ToAddresses?: string[] };
  subject?: string;
  body?: string;
}

/** Every mail sent to `email`, oldest first. */
export async function mailsTo(email: string): Promise<SentMail[]> {
  const response = await fetch(`${MOTO_URL}/moto-api/data.json`);
  expect(response.ok, `GET ${MOTO_URL}/moto-api/data.json`).toBe(true);
  const data = (await response.json()) as { ses?: { Message?: SentMail[] } };
  return (data.ses?.Message ?? []).filter((mail) => mail.destinations?.ToAddresses?.includes(email));
}

/**
 * The links of the mails to `email` that open `path` of the front end, oldest
 * first, as path and fragment (`/reset-password#token=...`): the mail points
 * at the configured web base URL, the test opens them on the server under test.
 */
export async function mailLinks(email: string, path: string): Promise<string[]> {
  const links: string[] = [];
  for (const mail of await mailsTo(email)) {
    for (const [, href] of (mail.body ?? '').matchAll(/<a\s[^>]*href="([^"]+)"/g)) {
      const url = new URL(href.replace(/&amp;/g, '&'));
      if (url.pathname === path) links.push(url.pathname + url.hash);
    }
  }
  return links;
}

/** The `nth` (1-based) such link, once the mail has arrived. */
export async function mailLink(email: string, path: string, nth = 1): Promise<string> {
  let links: string[] = [];
  await expect
    .poll(async () => (links = await mailLinks(email, path)).length, {
      message: `mail ${nth} to ${email} with a link to ${path}`,
      timeout: 15_000,
    })
    .toBeGreaterThanOrEqual(nth);
  return links[nth - 1];
}

// ---- what the API answered the page ----

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: { error?: string; message?: string } & Record<string, unknown>;
  /** What the page sent (JSON), to send it again beside the page. */
  request: unknown;
}

/**
 * The API's answers to the page's requests to `path` from now on, in order,
 * read on their way to the page: Playwright fetches each request itself and
 * hands the page that very response. (`page.waitForResponse(...).json()` asks
 * Chromium for a body it may already have dropped once the page read it.)
 * The page gets the same status, headers, cookies and body.
 */
export async function recordAnswers(page: Page, path: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  await page.route(`**${path}`, async (route) => {
    // What goes out: the page's body, or the one `sendInsteadOnce` put in its place.
    const sent = route.request().postData();
    const response = await route.fetch();
    const text = await response.text();
    answers.push({
      status: response.status(),
      headers: response.headers(),
      body: text ? JSON.parse(text) : {},
      request: sent ? JSON.parse(sent) : null,
    });
    await route.fulfill({ response });
  });
  return answers;
}

/**
 * The page's next request to `path` gets no answer, as on a stalled network,
 * until the page gives it up; `sent` resolves with that request's body once it
 * is sent. A request held this way cannot go on to whatever its answer would
 * start (a held passkey options request never reaches the authenticator).
 */
export async function holdNextRequest(page: Page, path: string): Promise<{ sent: Promise<unknown> }> {
  let arrived: (body: unknown) => void = () => undefined;
  const sent = new Promise<unknown>((resolve) => (arrived = resolve));
  await page.route(`**${path}`, (route) => arrived(route.request().postDataJSON()), { times: 1 });
  return { sent };
}

/**
 * The page's next request to `path` goes to the API with `body` instead of
 * the page's own (a captured request replayed, as an attacker would send
 * it); the API's answer goes to the page. Call it after `recordAnswers` for
 * the same path: that one then records this request and its answer.
 */
export async function sendInsteadOnce(page: Page, path: string, body: unknown): Promise<void> {
  await page.route(`**${path}`, (route) => route.fallback({ postData: JSON.stringify(body) }), { times: 1 });
}

/**
 * The API's next answer to the page's request to `path`, changed by `edit` on
 * its way to the page (a client that does not do what the API said, as an
 * attacker's would not).
 */
export async function editAnswerOnce<T>(page: Page, path: string, edit: (body: T) => unknown): Promise<void> {
  await page.route(
    `**${path}`,
    async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: edit((await response.json()) as T) });
    },
    { times: 1 },
  );
}

// ---- the signed-in user's view ----

/** Signs in on the sign-in page (lands on the next page, whatever it is). */
export async function signIn(page: Page, user: TestUser): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

// ---- evidence ----

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}

/**
 * A screenshot for the README. Written to web/docs only when DOCS_SCREENSHOTS=1
 * (they show a random test address, so every run would change the committed
 * files); otherwise beside the other screenshots. A modal dialog is taken as the
 * window shows it (`fullPage: false`): its backdrop covers the window, not the page.
 */
export async function docsScreenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  const dir = process.env['DOCS_SCREENSHOTS'] === '1' ? DOCS_DIR : SCREENSHOT_DIR;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, dir === DOCS_DIR ? `${name}.png` : `docs-${name}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? true });
  console.log(`screenshot: ${path}`);
}

/** axe-core on the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(bad, `axe on ${what}`).toEqual([]);
}
