// One user journey per test, each with its own user; run serially against one
// server (see playwright.config.ts and README.md).
import { Page } from '@playwright/test';
import jsQR from 'jsqr';
import { readFile } from 'node:fs/promises';
import {
  addVirtualAuthenticator,
  ageSession,
  createUser,
  credentialsOf,
  docsScreenshot,
  editAnswerOnce,
  expect,
  expectAccessible,
  grantAdmin,
  mailLink,
  mailLinks,
  mailsTo,
  newEmail,
  nextCode,
  overrideResponses,
  recordAnswers,
  screenshot,
  holdNextRequest,
  sendInsteadOnce,
  signIn,
  simulatePresence,
  test,
  watch,
  wrongCode,
} from './support';

const WRONG_CODE_MESSAGE = 'The code is wrong or was already used.';
const WRONG_PASSWORD_MESSAGE = 'The email or password is wrong.';
const INVALID_LINK_MESSAGE = 'This link is invalid, expired or already used. Ask for a new one.';

/** A code as people paste it: "123 456". */
const spaced = (code: string) => `${code.slice(0, 3)} ${code.slice(3)}`;

/** Reads the QR code image of the page through a canvas and decodes it. */
async function decodeQr(page: Page): Promise<string | null> {
  const image = await page.locator('img.qr').evaluate(async (img: HTMLImageElement) => {
    await img.decode();
    const pad = 16; // a white quiet zone around the code
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth + 2 * pad;
    canvas.height = img.naturalHeight + 2 * pad;
    const context = canvas.getContext('2d')!;
    context.fillStyle = '#fff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(img, pad, pad);
    const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
    // One grey byte per pixel, as base64: a quarter of the pixels' size, and fast to hand over.
    let grey = '';
    for (let i = 0; i < rgba.length; i += 4) grey += String.fromCharCode((rgba[i] + rgba[i + 1] + rgba[i + 2]) / 3);
    return { width: canvas.width, height: canvas.height, grey: btoa(grey) };
  });
  const grey = Buffer.from(image.grey, 'base64');
  const rgba = new Uint8ClampedArray(grey.length * 4);
  grey.forEach((value, i) => rgba.set([value, value, value, 255], i * 4));
  return jsQR(rgba, image.width, image.height)?.data ?? null;
}

const codeField = (page: Page) => page.getByLabel('Code from your authenticator app');

/** The status of every POST /auth/refresh of the page from now on. */
function refreshStatuses(page: Page): number[] {
  const statuses: number[] = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/auth/refresh')) statuses.push(r.status());
  });
  return statuses;
}

/** The last step of setup: "I saved them", Done, back on the security page with 2FA on. */
async function confirmSavedCodes(page: Page): Promise<void> {
  await page.getByLabel('I saved my backup codes').check();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByText(/^On since/)).toBeVisible();
}

test('1. sign up, sign in without 2FA, turn 2FA on', async ({ page }) => {
  const email = newEmail('signup');
  const password = 'correct horse battery staple';

  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#password-error')).toHaveText(/at least 8 characters/);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();

  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByText('Your account is ready')).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();

  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByText(email)).toBeVisible();
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();

  // Not verified yet: 2FA needs a verified address, the page says so and offers the mail again, not setup.
  await expect(page.locator('#twofa-needs-email')).toContainText('needs a verified email address');
  await expect(page.getByRole('button', { name: 'Send the link again' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Turn on with an authenticator app' })).toHaveCount(0);
  await expectAccessible(page, 'security, 2FA off, email not verified');
  // Setup opened anyway: the API's 403 email_unverified, explained, with the mail again.
  const refused = await recordAnswers(page, '/auth/2fa/setup');
  await page.goto('/security/setup');
  await expect(page.locator('#setup-needs-email')).toBeVisible();
  await page.unroute('**/auth/2fa/setup');
  expect(refused.map((a) => [a.status, a.body.error])).toEqual([[403, 'email_unverified']]);
  await expect(page.locator('#setup-error')).toHaveText(`⚠ ${refused[0].body.message}`);
  await expect(page.getByRole('button', { name: 'Send the link again' })).toBeVisible();
  await expectAccessible(page, 'setup, email not verified');

  // The sign-up mail's link, confirmed: now setup is offered.
  await page.goto(await mailLink(email, '/verify-email'));
  await page.getByRole('button', { name: 'Confirm this address' }).click();
  await page.getByRole('link', { name: 'Go to security' }).click();
  await expect(page.locator('#email-state')).toHaveText('Verified');
  await expect(page.locator('#twofa-needs-email')).toHaveCount(0);
  // The setup answer, read on its way to the page (its body is not kept once the page moves on).
  const setups = await recordAnswers(page, '/auth/2fa/setup');
  await page.getByRole('link', { name: 'Turn on with an authenticator app' }).click();

  // The server's own QR code, the secret in groups of four.
  await expect(page.locator('img.qr')).toBeVisible();
  await page.unroute('**/auth/2fa/setup');
  expect(setups.map((a) => a.status)).toEqual([200]);
  const setup = setups[0].body as { secret: string; otpauthUrl: string };
  const shownSecret = (await page.locator('#secret').textContent())!.trim();
  expect(shownSecret).toMatch(/^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
  const secret = shownSecret.replace(/ /g, '');
  const decoded = await decodeQr(page);
  expect(decoded).toBe(setup.otpauthUrl);
  expect(decoded).toMatch(new RegExp(`^otpauth://totp/.*[?&]secret=${secret}(&|$)`));

  await codeField(page).fill(spaced(await nextCode(secret)));
  await page.getByRole('button', { name: 'Turn on' }).click();

  await expect(page.getByRole('heading', { name: 'Step 2 of 2: Save your backup codes' })).toBeFocused();
  const codes = await page.locator('.backup-codes li').allTextContents();
  expect(codes).toHaveLength(10);
  for (const code of codes) expect(code.trim()).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);

  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download .txt' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('twofa-backup-codes.txt');
  const text = await readFile((await download.path())!, 'utf8');
  expect(text).toContain(email);
  for (const code of codes) expect(text).toContain(code.trim());

  // Leaving the step needs "I saved them".
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('#codes-saved-error')).toHaveText(/Tick “I saved my backup codes” first/);
  await expect(page.getByLabel('I saved my backup codes')).toBeFocused();
  await confirmSavedCodes(page);
  await expect(page.getByText('10 of 10 backup codes left.')).toBeVisible();
  await screenshot(page, '1-turn-on-2fa');
});

test('2. the 2FA page: wrong code, right code, a backup code works once', async ({ page, context }) => {
  const user = await createUser(context.request, 'login2fa', { twoFactor: true, signedIn: false });
  const secret = user.secret!;

  await signIn(page, user);
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  // Focus moves to the new page's heading; the field is made for one-time codes.
  await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeFocused();
  await expect(codeField(page)).toHaveAttribute('autocomplete', 'one-time-code');
  await expect(codeField(page)).toHaveAttribute('inputmode', 'numeric');
  await docsScreenshot(page, 'sign-in-2fa');

  // The page shows the API's own message (read on its way to the page, not from Chromium afterwards).
  const answers = await recordAnswers(page, '/auth/2fa/verify-login');
  await codeField(page).fill(wrongCode(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.locator('#login-code-error')).toHaveText(`⚠ ${WRONG_CODE_MESSAGE}`);
  await expect(codeField(page)).toBeFocused();
  await expect(codeField(page)).toHaveAttribute('aria-invalid', 'true');
  await page.unroute('**/auth/2fa/verify-login');
  expect(answers.map((a) => [a.status, a.body.error, a.body.message])).toEqual([
    [400, 'invalid_code', WRONG_CODE_MESSAGE],
  ]);

  // Keyboard only: the field has the focus; type a pasted-looking code, Enter.
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type(spaced(await nextCode(secret)));
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByText('Signed in with password and second factor')).toBeVisible();

  // A backup code, once.
  const backup = user.backupCodes![0];
  for (const attempt of ['first', 'second']) {
    await expect(page.getByText(/\d+ of 10 backup codes left\./)).toBeVisible();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expect(page.getByText('You are signed out.')).toBeVisible();
    await signIn(page, user);
    await expect(page).toHaveURL(/\/sign-in\/2fa/);
    await page.getByRole('switch', { name: 'Use a backup code' }).check();
    await page.getByRole('textbox', { name: 'Backup code' }).fill(backup.toUpperCase());
    await page.getByRole('button', { name: 'Verify' }).click();
    if (attempt === 'first') {
      await expect(page).toHaveURL(/\/security$/);
      await expect(page.getByText('9 of 10 backup codes left.')).toBeVisible();
    }
  }
  await expect(page.locator('#login-code-error')).toHaveText(`⚠ ${WRONG_CODE_MESSAGE}`);
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  await screenshot(page, '2-sign-in-with-2fa');
});

test('3. new backup codes; turn 2FA off with a code', async ({ page, context }) => {
  const user = await createUser(context.request, 'regen', { twoFactor: true });
  const secret = user.secret!;

  await page.goto('/security');
  await expect(page.getByText('10 of 10 backup codes left.')).toBeVisible();
  await docsScreenshot(page, 'security');

  await page.getByRole('button', { name: 'Create new backup codes' }).click();
  await expect(page.getByRole('heading', { name: 'Create new backup codes' })).toBeFocused();
  await codeField(page).fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Create new backup codes' }).click();
  await expect(page.getByRole('heading', { name: 'Your new backup codes' })).toBeFocused();
  const codes = (await page.locator('.backup-codes li').allTextContents()).map((c) => c.trim());
  expect(codes).toHaveLength(10);
  expect(codes.filter((code) => user.backupCodes!.includes(code))).toEqual([]);
  await page.getByLabel('I saved my backup codes').check();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByText('New backup codes are ready; the old ones no longer work.')).toBeVisible();

  // Off: an old backup code no longer proves anything, a current code does.
  await page.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
  await page.getByRole('switch', { name: 'Use a backup code' }).check();
  await page.getByRole('textbox', { name: 'Backup code' }).fill(user.backupCodes![0]);
  await page.getByRole('button', { name: 'Turn off', exact: true }).click();
  await expect(page.locator('#disable-code-error')).toHaveText(`⚠ ${WRONG_CODE_MESSAGE}`);
  await page.getByRole('switch', { name: 'Use a backup code' }).uncheck();
  await codeField(page).fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Turn off', exact: true }).click();
  await expect(page.getByText('Two-factor authentication is off.')).toBeVisible();
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();
  await expect(page.getByText('Signed in with password only')).toBeVisible();
  await screenshot(page, '3-backup-codes-and-off');
});

test('4. an admin without 2FA is led to setup', async ({ page, context }) => {
  const user = await createUser(context.request, 'admin', { signedIn: false });
  grantAdmin(user.email);

  await signIn(page, user);
  await expect(page).toHaveURL(/\/security\/setup$/);
  await expect(page.locator('#admin-required')).toHaveText(/administrators must use two-factor authentication/);
  await expect(page.getByRole('link', { name: 'Cancel' })).toHaveCount(0);
  const secret = (await page.locator('#secret').textContent())!.replace(/\s/g, '');
  await codeField(page).fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await confirmSavedCodes(page);
  await expect(page.getByText('Administrator', { exact: true })).toBeVisible();
  await expect(page.getByText('Administrators must keep two-factor authentication on.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Turn off two-factor authentication' })).toHaveCount(0);
  await screenshot(page, '4-admin-led-to-setup');
});

test('5. a lost access cookie is refreshed; sign out everywhere ends this session too', async ({
  page,
  context,
  browser,
  baseURL,
}) => {
  // A first visit to a signed-in page: to sign in, with the way back, and no "session ended".
  await page.goto('/security/log');
  await expect(page).toHaveURL(/\/sign-in\?returnUrl=%2Fsecurity%2Flog$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByText('Your session has ended')).toHaveCount(0);

  const user = await createUser(context.request, 'refresh');
  await page.goto('/security');
  await expect(page.getByText(user.email)).toBeVisible();

  // Without the access cookie, /auth/me, /auth/2fa/status and /auth/factors all get 401: one refresh, then all again.
  await context.clearCookies({ name: 'access_token' });
  const refreshes = refreshStatuses(page);
  await page.reload();
  await expect(page.getByText(user.email)).toBeVisible();
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();
  await expect.poll(() => refreshes).toEqual([200]);
  expect((await context.cookies()).map((c) => c.name)).toContain('access_token');

  // Another browser signs in as the same user and signs out everywhere.
  const other = await browser.newContext({ baseURL });
  const otherPage = await other.newPage();
  const otherProblems = await watch(otherPage);
  await signIn(otherPage, user);
  await expect(otherPage).toHaveURL(/\/security$/);
  await expect(otherPage.getByText('Off.', { exact: true })).toBeVisible();
  await otherPage.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(otherPage.getByText('You are signed out on every device.')).toBeVisible();
  expect(otherProblems).toEqual([]);
  await other.close();

  // Here, the next request gets 401, the refresh too: to sign in, and back after it.
  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page).toHaveURL(/\/sign-in\?reason=signed-out&returnUrl=%2Fsecurity%2Flog$/);
  await expect(page.getByText('Your session has ended. Sign in to continue.')).toBeVisible();
  await expect.poll(() => refreshes).toEqual([200, 401]);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/security\/log$/);
  await expect(page.getByRole('cell', { name: 'Signed out everywhere' })).toBeVisible();
  await screenshot(page, '5-refresh-and-logout-all');
});

test('6. too many wrong codes: the wait from Retry-After; a 503 says try again', async ({ page, context }) => {
  const user = await createUser(context.request, 'limit', { twoFactor: true, signedIn: false });
  await signIn(page, user);
  await expect(page).toHaveURL(/\/sign-in\/2fa/);

  let retryAfter: string | null = null;
  for (let attempt = 1; attempt <= 6; attempt++) {
    const answer = page.waitForResponse((r) => r.url().endsWith('/auth/2fa/verify-login'));
    await codeField(page).fill(wrongCode(user.secret!));
    await page.getByRole('button', { name: 'Verify' }).click();
    const response = await answer;
    expect(response.status()).toBe(attempt <= 5 ? 400 : 429);
    retryAfter = response.headers()['retry-after'] ?? null;
    await expect(page.locator('#login-code-error')).not.toBeEmpty();
  }
  expect(retryAfter).toMatch(/^\d+$/);
  await expect(page.locator('#login-code-error')).toHaveText(new RegExp(`Try again in ${retryAfter} s\\.$`));
  await screenshot(page, '6-too-many-attempts');

  // The API's 503 (an AWS dependency failing) cannot be caused from here: played by the browser.
  await page.route('**/auth/2fa/verify-login', (route) =>
    route.fulfill({
      status: 503,
      headers: { 'Content-Type': 'application/json', 'Retry-After': '2' },
      body: JSON.stringify({ error: 'service_unavailable', message: 'The service is briefly unavailable. Try again.' }),
    }),
  );
  await codeField(page).fill(wrongCode(user.secret!));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.locator('#login-code-error')).toHaveText('⚠ The service is briefly unavailable. Try again in 2 s.');
});

test('7. axe-core: no serious or critical violation on any page', async ({ page, context }) => {
  await addVirtualAuthenticator(page);
  await page.goto('/sign-in');
  await expectAccessible(page, 'sign-in');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.locator('#email-error')).not.toBeEmpty();
  await expectAccessible(page, 'sign-in with an error');
  await page.goto('/sign-up');
  await expectAccessible(page, 'sign-up');

  const user = await createUser(context.request, 'axe');
  await page.goto('/security');
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();
  await expectAccessible(page, 'security, 2FA off');
  await page.getByRole('link', { name: 'Turn on with an authenticator app' }).click();
  await expect(page.locator('img.qr')).toBeVisible();
  await expectAccessible(page, 'setup step 1');
  const secret = (await page.locator('#secret').textContent())!.replace(/\s/g, '');
  await codeField(page).fill(wrongCode(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.locator('#setup-code-error')).not.toBeEmpty();
  await expectAccessible(page, 'setup step 1 with an error');
  await codeField(page).fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.locator('.backup-codes li')).toHaveCount(10);
  await expectAccessible(page, 'setup step 2 (backup codes)');
  await confirmSavedCodes(page);
  await expectAccessible(page, 'security, 2FA on');

  // v3: a passkey beside the app, the list of factors and its panels, the re-authentication dialog.
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.getByRole('heading', { name: 'Add a passkey' })).toBeFocused();
  await expectAccessible(page, 'security, add a passkey');
  await page.getByLabel('Name (optional)').fill('Laptop');
  await page.getByRole('button', { name: 'Create passkey' }).click();
  await expect(page.locator('#security-notice')).toHaveText('Passkey “Laptop” is added.');
  await expect(page.locator('table.factors tbody tr')).toHaveCount(2);
  await expectAccessible(page, 'security, two factors');
  await page.getByRole('button', { name: 'Rename Laptop' }).click();
  await page.getByLabel('New name').fill(' ');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.locator('#rename-name-error')).toHaveText('⚠ Enter a name.');
  await expectAccessible(page, 'security, rename with an error');
  await page.getByRole('button', { name: 'Remove Laptop' }).click();
  await expect(page.getByRole('heading', { name: 'Remove “Laptop”?' })).toBeFocused();
  await expectAccessible(page, 'security, remove a factor');
  await ageSession(context);
  await page.getByRole('button', { name: 'Remove', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm it’s you' });
  await expect(dialog.getByRole('button', { name: 'Use a passkey' })).toBeFocused();
  await expectAccessible(page, 're-authentication dialog, second factor');
  await dialog.getByLabel('Code from your authenticator app').fill(wrongCode(secret));
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog.locator('#reauth-code-error')).not.toBeEmpty();
  await expectAccessible(page, 're-authentication dialog, second factor, with an error');
  await dialog.getByRole('switch', { name: 'Use a backup code' }).check();
  await expect(dialog.getByRole('textbox', { name: 'Backup code' })).toBeVisible();
  await expectAccessible(page, 're-authentication dialog, backup code');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(page.locator('#remove-error')).toHaveText(/Not done/);
  await expectAccessible(page, 'security, removal not done');
  await page.getByRole('button', { name: 'Cancel' }).click();

  await page.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
  await expect(page.getByRole('button', { name: 'Use a passkey and turn off' })).toBeVisible();
  await page.getByRole('switch', { name: 'Use a backup code' }).check();
  await expect(page.getByRole('textbox', { name: 'Backup code' })).toBeVisible();
  await expectAccessible(page, 'security, turning 2FA off');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Create new backup codes' }).click();
  await expect(page.getByRole('heading', { name: 'Create new backup codes' })).toBeFocused();
  await expectAccessible(page, 'security, new backup codes');

  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'Two-factor authentication turned on' })).toBeVisible();
  await expectAccessible(page, 'security log');
  await screenshot(page, '7-security-log');

  // Signed out for good before signing in again: the page loaded, the logout answered.
  await page.goto('/security');
  await expect(page.getByText(/^On since/)).toBeVisible();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page.getByText('You are signed out.')).toBeVisible();
  await signIn(page, user);
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  await expect(page.getByRole('button', { name: 'Use a passkey' })).toBeVisible();
  await expectAccessible(page, '2FA page');
  await codeField(page).fill(wrongCode(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.locator('#login-code-error')).not.toBeEmpty();
  await expectAccessible(page, '2FA page with an error');

  // The dialog that asks for the password (2FA off), for another user signed in here.
  await createUser(context.request, 'axepw');
  await page.goto('/security');
  await page.getByRole('button', { name: 'Turn on with a passkey' }).click();
  await expect(page.getByRole('heading', { name: 'Turn on two-factor authentication with a passkey' })).toBeFocused();
  await expectAccessible(page, 'security, turn on with a passkey');
  await ageSession(context);
  await page.getByRole('button', { name: 'Create passkey' }).click();
  await expect(dialog.getByLabel('Your password')).toBeFocused();
  await expectAccessible(page, 're-authentication dialog, password');
  await dialog.getByLabel('Your password').fill('not my password');
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog.locator('#reauth-password-error')).toHaveText(`⚠ ${WRONG_PASSWORD_MESSAGE}`);
  await expectAccessible(page, 're-authentication dialog, password, with an error');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator('#passkey-error')).toHaveText(/Not done/);
  await expectAccessible(page, 'security, passkey not done');
});

/** Signs in with the given password and expects the API's refusal next to the password field. */
async function expectPasswordRefused(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.locator('#password-error')).toHaveText(`⚠ ${WRONG_PASSWORD_MESSAGE}`);
  await expect(page).toHaveURL(/\/sign-in$/);
}

/** Every URL the page requests (only those to `path`, when given): a mail's token must never be in one. */
function recordRequests(page: Page, path?: string): string[] {
  const urls: string[] = [];
  page.on('request', (request) => {
    if (!path || new URL(request.url()).pathname === path) urls.push(request.url());
  });
  return urls;
}

test('8. forgot password: the reset mail, a code for a 2FA account, the new password', async ({ page, context }) => {
  const user = await createUser(context.request, 'reset', { twoFactor: true, signedIn: false });
  const secret = user.secret!;
  const newPassword = 'a brand new passphrase';
  const urls = recordRequests(page);

  await page.goto('/sign-in');
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await expect(page.getByRole('heading', { name: 'Forgot your password?' })).toBeFocused();
  await expectAccessible(page, 'forgot password');
  await page.getByLabel('Email').fill('not-an-address');
  await page.getByRole('button', { name: 'Send the link' }).click();
  await expect(page.locator('#email-error')).toHaveText(/Enter your email address/);
  await expect(page.getByLabel('Email')).toBeFocused();

  // The same answer for an address without an account as for the user's.
  const nobody = newEmail('nobody');
  const answers: string[] = [];
  for (const email of [nobody, user.email]) {
    if (answers.length) await page.getByRole('button', { name: 'send a link again' }).click();
    await expect(page.getByLabel('Email')).toBeFocused();
    await page.getByLabel('Email').fill(email);
    const answer = page.waitForResponse((r) => r.url().endsWith('/auth/password/forgot'));
    await page.getByRole('button', { name: 'Send the link' }).click();
    expect((await answer).status()).toBe(202);
    await expect(page.getByRole('heading', { name: 'Check your mail' })).toBeFocused();
    answers.push((await page.locator('#forgot-answer').textContent())!.replace(email, '<email>'));
  }
  expect(answers).toEqual(['If an account exists for <email>, we sent a link.', 'If an account exists for <email>, we sent a link.']);
  await expectAccessible(page, 'forgot password, answered');
  expect(await mailsTo(nobody)).toEqual([]);

  // The mail's link: the token in the fragment, read and taken out of the address bar.
  const link = await mailLink(user.email, '/reset-password');
  expect(link).toMatch(/^\/reset-password#token=[\w.-]+$/);
  const token = link.slice(link.indexOf('=') + 1);
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();
  await expect(page).toHaveURL(/\/reset-password$/);
  expect(await page.evaluate(() => window.location.hash)).toBe('');
  await expectAccessible(page, 'reset password');

  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('New password again').fill(`${newPassword}!`);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page.locator('#reset-confirm-error')).toHaveText(/The two new passwords differ/);
  await expect(page.getByLabel('New password again')).toBeFocused();
  await page.getByLabel('New password again').fill(newPassword);
  const asked = await recordAnswers(page, '/auth/password/reset');
  await page.getByRole('button', { name: 'Set new password' }).click();

  // 2FA on: the API's second_factor_required brings the code field; a wrong code leaves the token usable.
  await expect(page.getByRole('heading', { name: 'Confirm with your second factor' })).toBeFocused();
  await page.unroute('**/auth/password/reset');
  expect(asked.map((a) => [a.status, a.body.error])).toEqual([[400, 'second_factor_required']]);
  await expect(page.locator('#reset-code-error')).toBeEmpty();
  await docsScreenshot(page, 'reset-password-2fa');
  await expectAccessible(page, 'reset password, second factor');
  await codeField(page).fill(wrongCode(secret));
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page.locator('#reset-code-error')).toHaveText(`⚠ ${WRONG_CODE_MESSAGE}`);
  await expect(codeField(page)).toBeFocused();
  await codeField(page).fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page.getByRole('heading', { name: 'Your password is changed' })).toBeFocused();
  await expectAccessible(page, 'reset password, done');
  await screenshot(page, '8-reset-password-with-2fa');

  // To sign in, the email blank; the old password is refused, the new one works (with a code).
  await page.getByRole('link', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByText('Your password is changed. Sign in with the new one.')).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveValue('');
  await expectPasswordRefused(page, user.email, user.password);
  await signIn(page, { ...user, password: newPassword });
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  await codeField(page).fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/security$/);
  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'Password reset', exact: true })).toBeVisible();

  // The link works once; the token never went into a requested URL.
  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('New password again').fill(newPassword);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page.getByRole('heading', { name: 'This link does not work' })).toBeFocused();
  await expect(page.locator('#link-error')).toHaveText(`⚠ ${INVALID_LINK_MESSAGE}`);
  await expect(page.getByRole('link', { name: 'Ask for a new link' })).toHaveAttribute('href', '/forgot-password');
  await expectAccessible(page, 'reset password, used link');
  expect(urls.filter((url) => url.includes(token))).toEqual([]);
});

test('9. verify the email with the mail, on a click; a new link replaces the first', async ({ page, context }) => {
  const email = newEmail('verify');
  const verifies = recordRequests(page, '/auth/email/verify');
  const confirm = page.getByRole('button', { name: 'Confirm this address' });
  /** What the API says, asked beside the page (the browser's cookies). */
  const emailVerified = async () => {
    const me = await context.request.get('/auth/me');
    expect(me.status()).toBe(200);
    return ((await me.json()) as { emailVerified: boolean }).emailVerified;
  };
  const password = 'verify me please';
  await page.goto('/sign-up');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.locator('#email-state')).toHaveText('Not verified');
  await expectAccessible(page, 'security, email not verified');

  const first = await mailLink(email, '/verify-email', 1);
  expect(first).toMatch(/^\/verify-email#token=[\w.-]+$/);
  await page.getByRole('button', { name: 'Send the link again' }).click();
  await expect(page.locator('#security-resend-status')).toHaveText(/^Sent: check your mail for the new link\./);
  const second = await mailLink(email, '/verify-email', 2);
  expect(second).not.toBe(first);
  await expectAccessible(page, 'security, verification link sent');

  // The first link stopped working: said so once confirmed, and (signed in) a new one is offered.
  await page.goto(first);
  await expect(confirm).toBeVisible();
  await expect(page).toHaveURL(/\/verify-email$/);
  expect(verifies).toEqual([]); // a page loaded from a link sends nothing by itself
  await confirm.click();
  await expect(page.getByRole('heading', { name: 'This link does not work' })).toBeFocused();
  await expect(page.locator('#link-error')).toHaveText(`⚠ ${INVALID_LINK_MESSAGE}`);
  await expect(page.getByRole('button', { name: 'Send the link again' })).toBeVisible();
  await expectAccessible(page, 'verify email, invalid link');

  // The second one (opened in the same tab: only the fragment changes, the page reads the new token).
  // Opening it verifies nothing, so that a mail scanner opening links cannot: the page asks first.
  await expect.poll(() => verifies.length).toBe(1);
  await page.goto(second);
  await expect(page).toHaveURL(/\/verify-email$/);
  await expect(page.getByRole('heading', { name: 'Is this your address?' })).toBeVisible();
  await expect(confirm).toBeVisible();
  await expect(page.locator('#link-error')).toHaveCount(0);
  await expectAccessible(page, 'verify email, confirm');
  expect(await emailVerified()).toBe(false);
  expect(verifies).toHaveLength(1);
  await confirm.click();
  await expect(page.getByRole('heading', { name: 'Your email address is verified' })).toBeFocused();
  await expect.poll(() => verifies.length).toBe(2);
  expect(await emailVerified()).toBe(true);
  await expectAccessible(page, 'verify email, verified');
  await page.getByRole('link', { name: 'Go to security' }).click();
  await expect(page.locator('#email-state')).toHaveText('Verified');
  await expect(page.getByRole('button', { name: 'Send the link again' })).toHaveCount(0);
  await screenshot(page, '9-verify-email');

  // Used once: the same link now says so, and that the address is verified already.
  await page.goto(second);
  await confirm.click();
  await expect(page.locator('#link-error')).toHaveText(`⚠ ${INVALID_LINK_MESSAGE}`);
  await expect(page.getByText(`Your address ${email} is verified already`)).toBeVisible();
});

test('10. change the password on the security page, then sign in with it', async ({ page, context }) => {
  const user = await createUser(context.request, 'change');
  const newPassword = 'changed on purpose';
  const refreshes = refreshStatuses(page);
  await page.goto('/security');
  await expect(page.getByText(user.email)).toBeVisible();
  const current = page.getByLabel('Current password');
  const fresh = page.getByLabel('New password', { exact: true });
  await expectAccessible(page, 'security, change password');

  // A wrong current password: the API's message next to that field, and this page stays signed in.
  await current.fill('not my password');
  await fresh.fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#change-current-error')).toHaveText(`⚠ ${WRONG_PASSWORD_MESSAGE}`);
  await expect(current).toBeFocused();
  await expect(current).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL(/\/security$/);
  expect(refreshes).toEqual([]);
  await expectAccessible(page, 'security, change password with an error');

  await current.fill(user.password);
  await fresh.fill('short');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#change-new-error')).toHaveText(/at least 8 characters/);
  await expect(fresh).toBeFocused();
  await fresh.fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#password-status')).toHaveText('Your password is changed. Every other session has ended.');
  await expect(current).toHaveValue('');
  await expect(fresh).toHaveValue('');

  // Still signed in here (the answer's fresh cookies), with no refresh needed.
  await page.reload();
  await expect(page.getByText(user.email)).toBeVisible();
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();
  expect(refreshes).toEqual([]);
  await screenshot(page, '10-change-password');

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page.getByText('You are signed out.')).toBeVisible();
  await expectPasswordRefused(page, user.email, user.password);
  await signIn(page, { ...user, password: newPassword });
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByText(user.email)).toBeVisible();
});

test('11. mail links without a token, signed out; "send the link again" until 429', async ({ page, context }) => {
  // A token in the query string is no token: nothing is sent, the page says the link is incomplete.
  const verifies: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/auth/email/verify') || r.url().includes('/auth/password/reset')) verifies.push(r.url());
  });
  await page.goto('/verify-email?token=abcdefghijklmnop');
  await expect(page.locator('#link-error')).toHaveText(/the link here has no token/);
  await expect(page.getByRole('link', { name: 'Sign in', exact: true })).toHaveAttribute('href', '/sign-in');
  await expectAccessible(page, 'verify email, signed out, no token');
  await page.goto('/reset-password?token=abcdefghijklmnop');
  await expect(page.locator('#link-error')).toHaveText(/the link here has no token/);
  await expect(page.getByRole('link', { name: 'Ask for a new link' })).toBeVisible();
  await expectAccessible(page, 'reset password, no token');
  expect(verifies).toEqual([]);

  // Signed out, a link that does not work leads to sign in (the new link is sent from the security page).
  await page.goto('/verify-email#token=not-a-real-token');
  await page.getByRole('button', { name: 'Confirm this address' }).click();
  await expect(page.locator('#link-error')).toHaveText(`⚠ ${INVALID_LINK_MESSAGE}`);
  await expect(page.getByText('to ask for a new link: the security page sends it.')).toBeVisible();
  await expect(page).toHaveURL(/\/verify-email$/);

  // At most 3 new links an hour: the 4th click is 429, with the wait from Retry-After.
  const user = await createUser(context.request, 'resend', { verified: false });
  await page.goto('/security');
  await expect(page.locator('#email-state')).toHaveText('Not verified');
  let retryAfter: string | null = null;
  for (let click = 1; click <= 4; click++) {
    const answer = page.waitForResponse((r) => r.url().endsWith('/auth/email/resend'));
    await page.getByRole('button', { name: 'Send the link again' }).click();
    const response = await answer;
    expect(response.status()).toBe(click <= 3 ? 202 : 429);
    retryAfter = response.headers()['retry-after'] ?? null;
  }
  expect(retryAfter).toMatch(/^\d+$/);
  await expect(page.locator('#security-resend-error')).toHaveText(
    `⚠ Too many attempts. Try again in ${retryAfter} s.`,
  );
  await expect(page.locator('#security-resend-status')).toHaveText('');
  expect(await mailLinks(user.email, '/verify-email')).toHaveLength(4); // sign-up's and three new ones
  await expectAccessible(page, 'security, resend refused');
  await screenshot(page, '11-resend-limit');
});

// ---- v3: several factors, passkeys, re-authentication ----

const factorRows = (page: Page) => page.locator('table.factors tbody tr');
const factorRow = (page: Page, name: string) => factorRows(page).filter({ has: page.getByRole('rowheader', { name, exact: true }) });
const reauthDialog = (page: Page) => page.getByRole('dialog', { name: 'Confirm it’s you' });

/** On the security page: "Add a passkey" (or "Turn on with a passkey"), a name, "Create passkey". */
async function createPasskeyOnPage(page: Page, name: string, first = false): Promise<void> {
  await page.getByRole('button', { name: first ? 'Turn on with a passkey' : 'Add a passkey' }).click();
  await expect(
    page.getByRole('heading', { name: first ? 'Turn on two-factor authentication with a passkey' : 'Add a passkey' }),
  ).toBeFocused();
  await page.getByLabel('Name (optional)').fill(name);
  await page.getByRole('button', { name: 'Create passkey' }).click();
}

/** The backup codes a first factor brings: "I saved them", Done, 2FA on. */
async function saveFirstCodes(page: Page): Promise<void> {
  await expect(page.getByRole('heading', { name: 'Two-factor authentication is on: save your backup codes' })).toBeFocused();
  await expect(page.locator('.backup-codes li')).toHaveCount(10);
  await page.getByLabel('I saved my backup codes').check();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('#security-notice')).toHaveText('Two-factor authentication is on.');
  await expect(page.getByText(/^On since/)).toBeVisible();
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page.getByText('You are signed out.')).toBeVisible();
}

test('12. turn 2FA on with a passkey, sign in with it, new codes and off with it; the same ceremony twice is refused', async ({ page, context }) => {
  const authenticator = await addVirtualAuthenticator(page);
  const user = await createUser(context.request, 'passkey');
  await page.goto('/security');
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();

  // The first factor, a passkey: 2FA on, backup codes shown once, this session aal 2.
  const registrations = await recordAnswers(page, '/auth/factors/passkey');
  await page.getByRole('button', { name: 'Turn on with a passkey' }).click();
  await expect(page.getByRole('heading', { name: 'Turn on two-factor authentication with a passkey' })).toBeFocused();
  await expectAccessible(page, 'security, turn on with a passkey');
  await page.getByLabel('Name (optional)').fill('Test laptop');
  await page.getByRole('button', { name: 'Create passkey' }).click();
  await expect(page.getByRole('heading', { name: 'Two-factor authentication is on: save your backup codes' })).toBeFocused();
  await page.unroute('**/auth/factors/passkey');
  expect(registrations.map((a) => a.status)).toEqual([201]);
  const shown = (await page.locator('.backup-codes li').allTextContents()).map((c) => c.trim());
  expect(shown).toEqual(registrations[0].body['backupCodes']);
  expect(await credentialsOf(authenticator)).toHaveLength(1);
  await expectAccessible(page, 'security, backup codes of a first passkey');
  await saveFirstCodes(page);
  await expect(page.getByText('Signed in with password and second factor')).toBeVisible();
  await expect(factorRows(page)).toHaveCount(1);
  const row = factorRow(page, 'Test laptop');
  await expect(row).toContainText('Passkey');
  await expect(row).toContainText('this device');
  await expect(page.locator('#last-factor-hint')).toContainText('“Test laptop” is your only second factor');
  await docsScreenshot(page, 'security-passkey');
  await expectAccessible(page, 'security, 2FA on with a passkey');

  // At the 2FA page: "Use a passkey" (the challenge for the pre-2FA cookie answered), the code field for the others.
  await signOut(page);
  await signIn(page, user);
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  const usePasskey = page.getByRole('button', { name: 'Use a passkey' });
  await expect(usePasskey).toBeVisible();
  await expect(codeField(page)).toBeVisible();
  await expectAccessible(page, '2FA page with a passkey');
  const logins = await recordAnswers(page, '/auth/2fa/verify-login');
  await usePasskey.click();
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByText('Signed in with password and second factor')).toBeVisible();
  await page.unroute('**/auth/2fa/verify-login');
  expect(logins.map((a) => a.status)).toEqual([200]);
  const proof = logins[0].request as { passkey: { ceremonyId: string; credential: { id: string } } };
  expect(Object.keys(proof)).toEqual(['passkey']);
  expect(proof.passkey.credential.id).toBe(
    Buffer.from((await credentialsOf(authenticator))[0].credentialId, 'base64').toString('base64url'),
  );
  // The passkey's last use is recorded.
  await expect(factorRow(page, 'Test laptop')).not.toContainText('Never');

  // That proof replayed (a new sign-in, so a new pre-2FA cookie; the page's request goes out with the old body):
  // its ceremony is used up, 400 ceremony_expired, shown next to the button.
  await signOut(page);
  await signIn(page, user);
  await expect(usePasskey).toBeVisible();
  const replays = await recordAnswers(page, '/auth/2fa/verify-login');
  await sendInsteadOnce(page, '/auth/2fa/verify-login', proof);
  await usePasskey.click();
  await expect.poll(() => replays.length).toBe(1);
  expect(replays[0].request).toEqual(proof);
  expect([replays[0].status, replays[0].body.error]).toEqual([400, 'ceremony_expired']);
  await expect(page.locator('#login-code-passkey-error')).toHaveText(`⚠ ${replays[0].body.message}`);
  await expect(usePasskey).toBeFocused();
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  // The page's next try is a new ceremony: the passkey signs in.
  await usePasskey.click();
  await expect(page).toHaveURL(/\/security$/);
  await page.unroute('**/auth/2fa/verify-login');
  expect(replays.map((a) => a.status)).toEqual([400, 200]);

  // New backup codes and turning 2FA off take the passkey too (the challenge for the access token).
  await page.getByRole('button', { name: 'Create new backup codes' }).click();
  await page.getByRole('button', { name: 'Use a passkey and create new codes' }).click();
  await expect(page.getByRole('heading', { name: 'Your new backup codes' })).toBeFocused();
  const renewed = (await page.locator('.backup-codes li').allTextContents()).map((c) => c.trim());
  expect(renewed).toHaveLength(10);
  expect(renewed.filter((code) => shown.includes(code))).toEqual([]);
  await page.getByLabel('I saved my backup codes').check();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.locator('#security-notice')).toHaveText('New backup codes are ready; the old ones no longer work.');
  await page.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
  await expectAccessible(page, 'security, turning 2FA off with a passkey');
  await page.getByRole('button', { name: 'Use a passkey and turn off' }).click();
  await expect(page.locator('#security-notice')).toHaveText('Two-factor authentication is off.');
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();
  await expect(page.getByText('Signed in with password only')).toBeVisible();

  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'Signed in with a second factor' }).first()).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Two-factor authentication turned on' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Two-factor authentication turned off' })).toBeVisible();
  await screenshot(page, '12-passkey-sign-in');
});

test('13. passkeys refused at the 2FA page: bad signature, no user verification, another account’s, a replay; each counts', async ({
  page,
  context,
  browser,
  baseURL,
}) => {
  const authenticator = await addVirtualAuthenticator(page);
  const user = await createUser(context.request, 'pkrefused', { twoFactor: true });

  // A passkey beside the authenticator app: a further factor, no new backup codes.
  await page.goto('/security');
  await expect(page.getByText('10 of 10 backup codes left.')).toBeVisible();
  await createPasskeyOnPage(page, 'Desk laptop');
  await expect(page.locator('#security-notice')).toHaveText('Passkey “Desk laptop” is added.');
  await expect(page.getByRole('heading', { name: 'Two-factor authentication', exact: true })).toBeFocused();
  await expect(factorRows(page)).toHaveCount(2);
  await expect(page.getByText('10 of 10 backup codes left.')).toBeVisible();

  // Another account, with its own passkey made in another browser; its key is copied into this authenticator.
  const other = await browser.newContext({ baseURL });
  const otherPage = await other.newPage();
  const otherProblems = await watch(otherPage);
  const otherAuthenticator = await addVirtualAuthenticator(otherPage);
  await createUser(other.request, 'pkother');
  await otherPage.goto('/security');
  await createPasskeyOnPage(otherPage, 'Other laptop', true);
  await expect(otherPage.locator('.backup-codes li')).toHaveCount(10);
  const [foreign] = await credentialsOf(otherAuthenticator);
  expect(otherProblems).toEqual([]);
  await other.close();
  await authenticator.cdp.send('WebAuthn.addCredential', {
    authenticatorId: authenticator.authenticatorId,
    credential: foreign,
  });

  await signOut(page);
  await signIn(page, user);
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  const usePasskey = page.getByRole('button', { name: 'Use a passkey' });
  const passkeyError = page.locator('#login-code-passkey-error');
  await expect(usePasskey).toBeVisible();
  const answers = await recordAnswers(page, '/auth/2fa/verify-login');

  // 1. A bad signature: the API's 400 invalid_credential, next to the button (which keeps the focus).
  await overrideResponses(authenticator, { isBogusSignature: true });
  await usePasskey.click();
  await expect.poll(() => answers.length).toBe(1);
  expect([answers[0].status, answers[0].body.error]).toEqual([400, 'invalid_credential']);
  await expect(passkeyError).toHaveText(`⚠ ${answers[0].body.message}`);
  await expect(usePasskey).toBeFocused();
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  await expectAccessible(page, '2FA page, passkey refused');

  // 2. The user not verified (UV flag unset): refused the same way.
  await overrideResponses(authenticator, { isBadUV: true });
  await usePasskey.click();
  await expect.poll(() => answers.length).toBe(2);
  expect([answers[1].status, answers[1].body.error]).toEqual([400, 'invalid_credential']);
  await expect(passkeyError).toHaveText(`⚠ ${answers[1].body.message}`);
  await overrideResponses(authenticator, {});

  // 3. The other account's passkey over this account's ceremony. The API's challenge names only this account's
  //    passkeys (allowCredentials), so a browser never offers the other one: here the challenge's answer names the
  //    other credential instead on its way to the page (a client that ignores the list, as an attacker's would).
  const foreignId = Buffer.from(foreign.credentialId, 'base64').toString('base64url');
  await editAnswerOnce<{ ceremonyId: string; publicKey: PublicKeyCredentialRequestOptionsJSON }>(
    page,
    '/auth/2fa/challenge',
    (ceremony) => ({
      ...ceremony,
      publicKey: { ...ceremony.publicKey, allowCredentials: [{ type: 'public-key', id: foreignId }] },
    }),
  );
  await usePasskey.click();
  await expect.poll(() => answers.length).toBe(3);
  const foreignProof = answers[2].request as { passkey: { ceremonyId: string; credential: { id: string } } };
  expect(foreignProof.passkey.credential.id).toBe(foreignId);
  expect([answers[2].status, answers[2].body.error]).toEqual([400, 'invalid_credential']);
  await expect(passkeyError).toHaveText(`⚠ ${answers[2].body.message}`);
  await expect(usePasskey).toBeFocused();

  // 4. That request replayed (the page's next one goes out with its body): the ceremony is used up whatever the
  //    outcome, 400 ceremony_expired, shown as the API says it; and that is no attempt.
  await sendInsteadOnce(page, '/auth/2fa/verify-login', foreignProof);
  await usePasskey.click();
  await expect.poll(() => answers.length).toBe(4);
  expect(answers[3].request).toEqual(foreignProof);
  expect([answers[3].status, answers[3].body.error]).toEqual([400, 'ceremony_expired']);
  await expect(passkeyError).toHaveText(`⚠ ${answers[3].body.message}`);
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  await page.unroute('**/auth/2fa/verify-login');

  // Each invalid_credential counted as a wrong code: two wrong codes make five (both still answered 400), and then
  // the right passkey is refused too (429).
  for (let n = 0; n < 2; n++) {
    const answer = page.waitForResponse((r) => r.url().endsWith('/auth/2fa/verify-login'));
    await codeField(page).fill(wrongCode(user.secret!));
    await page.getByRole('button', { name: 'Verify' }).click();
    expect((await answer).status()).toBe(400);
    await expect(page.locator('#login-code-error')).toHaveText(`⚠ ${WRONG_CODE_MESSAGE}`);
  }
  const limited = await recordAnswers(page, '/auth/2fa/verify-login');
  await usePasskey.click();
  await expect.poll(() => limited.length).toBe(1);
  expect(limited[0].status).toBe(429);
  await expect(passkeyError).toHaveText(
    new RegExp(`Try again in ${limited[0].headers['retry-after']} s\\.$`),
  );
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  await screenshot(page, '13-passkey-refused');
});

test('14. rename and remove factors; the last one cannot be removed', async ({ page, context }) => {
  await addVirtualAuthenticator(page);
  await createUser(context.request, 'factors', { twoFactor: true });
  await page.goto('/security');
  await expect(factorRows(page)).toHaveCount(1);
  await expect(factorRow(page, 'Authenticator app')).toContainText('Authenticator app');

  // The only factor: no "Remove", and the page says why; the API refuses it too (409 last_factor).
  await expect(page.getByRole('button', { name: /^Remove/ })).toHaveCount(0);
  await expect(page.locator('#last-factor-hint')).toContainText('is your only second factor, so it cannot be removed');
  const listed = (await (await context.request.get('/auth/factors')).json()) as { factors: { id: string }[] };
  expect(listed.factors).toHaveLength(1);
  const lastOne = await context.request.post('/auth/factors/remove', { data: { factorId: listed.factors[0].id } });
  expect([lastOne.status(), ((await lastOne.json()) as { error: string }).error]).toEqual([409, 'last_factor']);

  await createPasskeyOnPage(page, 'Laptop');
  await expect(page.locator('#security-notice')).toHaveText('Passkey “Laptop” is added.');
  await expect(factorRows(page)).toHaveCount(2);
  await expect(page.locator('#last-factor-hint')).toHaveCount(0);
  await expect(factorRow(page, 'Laptop')).toContainText('this device');
  await expectAccessible(page, 'security, two factors');

  // Rename: a name the API would refuse is refused next to the field; then the new name.
  await page.getByRole('button', { name: 'Rename Authenticator app' }).click();
  await expect(page.getByRole('heading', { name: 'Rename “Authenticator app”' })).toBeFocused();
  await expect(page.getByLabel('New name')).toHaveValue('Authenticator app');
  await page.getByLabel('New name').fill('x'.repeat(65));
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.locator('#rename-name-error')).toHaveText('⚠ Use at most 64 characters.');
  await expect(page.getByLabel('New name')).toBeFocused();
  await expectAccessible(page, 'security, rename with an error');
  await page.getByLabel('New name').fill('  Old phone ');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.locator('#security-notice')).toHaveText('Renamed to “Old phone”.');
  await expect(factorRow(page, 'Old phone')).toContainText('Authenticator app');

  // Remove the passkey: asked first; this session stays, its factor goes.
  const passkeyId = ((await (await context.request.get('/auth/factors')).json()) as { factors: { id: string; type: string }[] })
    .factors.find((f) => f.type === 'passkey')!.id;
  await page.getByRole('button', { name: 'Remove Laptop' }).click();
  await expect(page.getByRole('heading', { name: 'Remove “Laptop”?' })).toBeFocused();
  await expectAccessible(page, 'security, remove a factor');
  await page.getByRole('button', { name: 'Remove', exact: true }).click();
  await expect(page.locator('#security-notice')).toHaveText('“Laptop” is removed.');
  await expect(factorRows(page)).toHaveCount(1);
  await expect(page.locator('#last-factor-hint')).toContainText('“Old phone” is your only second factor');
  await page.reload();
  await expect(factorRow(page, 'Old phone')).toBeVisible();
  await expect(page.getByText('Signed in with password and second factor')).toBeVisible();

  // Gone: 404 factor_not_found for it now.
  const gone = await context.request.post('/auth/factors/rename', { data: { factorId: passkeyId, name: 'Back' } });
  expect([gone.status(), ((await gone.json()) as { error: string }).error]).toEqual([404, 'factor_not_found']);

  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'Second factor added' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Second factor renamed' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Second factor removed' })).toBeVisible();
  await screenshot(page, '14-rename-remove-factors');
});

test('15. an old session: the re-authentication dialog asks for the second factor, then the change is done', async ({
  page,
  context,
}) => {
  await addVirtualAuthenticator(page);
  const user = await createUser(context.request, 'reauth', { twoFactor: true });
  const secret = user.secret!;
  await page.goto('/security');
  await createPasskeyOnPage(page, 'Laptop');
  await expect(factorRows(page)).toHaveCount(2);

  // The proof an hour old (in the table), the access cookie gone: the next request refreshes into an old auth_time.
  await ageSession(context);
  const refreshes = refreshStatuses(page);
  const removals = await recordAnswers(page, '/auth/factors/remove');
  await page.getByRole('button', { name: 'Remove Authenticator app' }).click();
  const removeButton = page.getByRole('button', { name: 'Remove', exact: true });
  await removeButton.click();

  // 401 reauthentication_required, for real: the dialog, labelled, the focus inside it.
  const dialog = reauthDialog(page);
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Use a passkey' })).toBeFocused();
  await expect.poll(() => removals.length).toBe(2);
  expect(removals.map((a) => [a.status, a.body.error])).toEqual([
    [401, 'unauthorized'],
    [401, 'reauthentication_required'],
  ]);
  expect(removals[1].headers['www-authenticate']).toContain('insufficient_user_authentication');
  await expect.poll(() => refreshes).toEqual([200]);
  await expect(dialog).toHaveAccessibleDescription(/needs a recent proof that it is you/);
  await expectAccessible(page, 're-authentication dialog, second factor');
  await docsScreenshot(page, 'reauthenticate', { fullPage: false });

  // The focus stays in the dialog, both ways.
  const focusInDialog = () => page.evaluate(() => document.activeElement?.closest('dialog')?.id ?? null);
  for (let n = 0; n < 7; n++) {
    await page.keyboard.press('Tab');
    expect(await focusInDialog()).toBe('reauth-dialog');
  }
  for (let n = 0; n < 7; n++) {
    await page.keyboard.press('Shift+Tab');
    expect(await focusInDialog()).toBe('reauth-dialog');
  }

  // Escape cancels: the focus goes back, the page says it is not done, nothing was removed.
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(removeButton).toBeFocused();
  await expect(page.locator('#remove-error')).toHaveText(/Not done: this change needs you to confirm it’s you/);
  expect(removals).toHaveLength(2);
  await expect(factorRows(page)).toHaveCount(2);

  // Again: a wrong code in the dialog is refused there; the right one closes it, and the removal is sent again, once.
  await removeButton.click();
  await expect(dialog).toBeVisible();
  const dialogCode = dialog.getByLabel('Code from your authenticator app');
  await dialogCode.fill(wrongCode(secret));
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog.locator('#reauth-code-error')).toHaveText(`⚠ ${WRONG_CODE_MESSAGE}`);
  await expect(dialogCode).toBeFocused();
  await expectAccessible(page, 're-authentication dialog with an error');
  await dialogCode.fill(await nextCode(secret));
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator('#security-notice')).toHaveText('“Authenticator app” is removed.');
  await page.unroute('**/auth/factors/remove');
  expect(removals.map((a) => a.status)).toEqual([401, 401, 401, 200]);
  await expect(factorRows(page)).toHaveCount(1);

  // Another page, another old proof: setup asks, the dialog takes the passkey (the account challenge), setup goes on.
  await ageSession(context);
  await page.goto('/security/setup');
  await expect(dialog).toBeVisible();
  await expect(page.locator('img.qr')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('heading', { name: 'Add an authenticator app', level: 1 })).toBeVisible();
  await expect(page.locator('img.qr')).toBeVisible();
  const newSecret = (await page.locator('#secret').textContent())!.replace(/\s/g, '');
  await page.getByLabel('Name (optional)').fill('Second phone');
  await codeField(page).fill(await nextCode(newSecret));
  await page.getByRole('button', { name: 'Add app' }).click();
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.locator('#security-notice')).toHaveText('Authenticator app “Second phone” is added.');
  await expect(factorRows(page)).toHaveCount(2);
  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'Confirmed it was you' })).toHaveCount(2);
  await screenshot(page, '15-reauthenticate-second-factor');
});

test('16. an old session without 2FA: the dialog asks for the password, then the passkey turns 2FA on', async ({
  page,
  context,
}) => {
  await addVirtualAuthenticator(page);
  const user = await createUser(context.request, 'reauthpw');
  await page.goto('/security');
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();
  await ageSession(context);

  const createButton = page.getByRole('button', { name: 'Create passkey' });
  await page.getByRole('button', { name: 'Turn on with a passkey' }).click();
  await createButton.click();
  const dialog = reauthDialog(page);
  await expect(dialog).toBeVisible();
  const password = dialog.getByLabel('Your password');
  await expect(password).toBeFocused();
  await expectAccessible(page, 're-authentication dialog, password');

  await password.fill('not my password');
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog.locator('#reauth-password-error')).toHaveText(`⚠ ${WRONG_PASSWORD_MESSAGE}`);
  await expect(password).toBeFocused();
  await expect(password).toHaveAttribute('aria-invalid', 'true');
  // "Cancel" cancels too, the focus back on the button.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(createButton).toBeFocused();
  await expect(page.locator('#passkey-error')).toHaveText(/Not done/);

  await createButton.click();
  await expect(password).toBeFocused();
  await password.fill(user.password);
  await password.press('Enter');
  await expect(dialog).toBeHidden();
  await saveFirstCodes(page);
  await expect(factorRows(page)).toHaveCount(1);
  await expect(page.getByText('Signed in with password and second factor')).toBeVisible();
  await screenshot(page, '16-reauthenticate-password');
});

test('17. a password reset confirmed with a passkey', async ({ page, context }) => {
  const authenticator = await addVirtualAuthenticator(page);
  const user = await createUser(context.request, 'resetpk');
  const newPassword = 'reset with my passkey';
  await page.goto('/security');
  await createPasskeyOnPage(page, 'Laptop', true);
  await saveFirstCodes(page);
  await signOut(page);

  expect((await context.request.post('/auth/password/forgot', { data: { email: user.email } })).status()).toBe(202);
  await page.goto(await mailLink(user.email, '/reset-password'));
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('New password again').fill(newPassword);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page.getByRole('heading', { name: 'Confirm with your second factor' })).toBeFocused();
  // The challenge for the reset token answered: a passkey, besides a code and a backup code.
  const usePasskey = page.getByRole('button', { name: 'Use a passkey and set the password' });
  await expect(usePasskey).toBeVisible();
  await expect(codeField(page)).toBeVisible();
  await expect(page.getByRole('switch', { name: 'Use a backup code' })).toBeVisible();
  await expectAccessible(page, 'reset password, passkey');

  // A bad signature: the API's message, and the link still works.
  const answers = await recordAnswers(page, '/auth/password/reset');
  await overrideResponses(authenticator, { isBogusSignature: true });
  await usePasskey.click();
  await expect.poll(() => answers.length).toBe(1);
  expect([answers[0].status, answers[0].body.error]).toEqual([400, 'invalid_credential']);
  await expect(page.locator('#reset-code-passkey-error')).toHaveText(`⚠ ${answers[0].body.message}`);
  await expect(usePasskey).toBeFocused();
  await expectAccessible(page, 'reset password, passkey refused');
  await overrideResponses(authenticator, {});
  await usePasskey.click();
  await expect(page.getByRole('heading', { name: 'Your password is changed' })).toBeFocused();
  await page.unroute('**/auth/password/reset');
  expect(answers.map((a) => a.status)).toEqual([400, 200]);
  await screenshot(page, '17-reset-with-passkey');

  // The new password and the passkey sign in.
  await signIn(page, { ...user, password: newPassword });
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page).toHaveURL(/\/security$/);
  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'Password reset', exact: true })).toBeVisible();
});

// ---- v3: sessions, remembered browsers, passkey sign-in, email change, account deletion ----

const sessionRows = (page: Page) => page.locator('table.sessions tbody tr');
const deviceRows = (page: Page) => page.locator('table.devices tbody tr');
/** The "This browser" mark of a row (exact: the page's sentences say "this browser" too). */
const thisBrowser = (page: Page) => page.getByText('This browser', { exact: true });
const currentSessionRow = (page: Page) => sessionRows(page).filter({ has: thisBrowser(page) });

test('18. remember this browser: the password alone signs in there, until it is forgotten', async ({ page, context }) => {
  const user = await createUser(context.request, 'remember', { twoFactor: true, signedIn: false });
  const secret = user.secret!;
  await signIn(page, user);
  await expect(page).toHaveURL(/\/sign-in\/2fa/);

  // Unticked at first; not offered with a backup code (the API refuses the two together).
  const remember = page.getByLabel('Remember this browser for 30 days');
  await expect(remember).not.toBeChecked();
  await expect(remember).toHaveAccessibleDescription(/needs only your password/);
  await page.getByRole('switch', { name: 'Use a backup code' }).check();
  await expect(remember).toHaveCount(0);
  await page.getByRole('switch', { name: 'Use a backup code' }).uncheck();
  await expect(remember).not.toBeChecked();
  await expectAccessible(page, '2FA page, remember this browser');

  const logins = await recordAnswers(page, '/auth/2fa/verify-login');
  await remember.check();
  await codeField(page).fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/security$/);
  await page.unroute('**/auth/2fa/verify-login');
  expect(logins.map((a) => a.status)).toEqual([200]);
  expect(logins[0].request).toEqual({ code: expect.stringMatching(/^\d{6}$/), rememberDevice: true });
  expect((await context.cookies()).map((c) => c.name)).toContain('device_token');

  // Listed as this browser; this session signed in with the password and the app.
  await expect(deviceRows(page)).toHaveCount(1);
  await expect(deviceRows(page).filter({ has: thisBrowser(page) })).toHaveCount(1);
  await expect(currentSessionRow(page)).toContainText('Password and authenticator app');
  await expectAccessible(page, 'security, a remembered browser');
  await page.locator('#sessions-list-heading').scrollIntoViewIfNeeded();
  await docsScreenshot(page, 'sessions-devices', { fullPage: false });

  // Signed out (the remembered browser outlives it) and in again: the password alone, straight in.
  await signOut(page);
  const passwordLogins = await recordAnswers(page, '/auth/login');
  await signIn(page, user);
  await expect(page).toHaveURL(/\/security$/);
  await page.unroute('**/auth/login');
  expect(passwordLogins.map((a) => [a.status, a.body['requires2FA']])).toEqual([[200, false]]);
  await expect(page.getByText('Signed in with password on a remembered browser')).toBeVisible();
  await expect(currentSessionRow(page)).toContainText('Password and remembered browser');

  // Forget it: its row goes, its cookie too, the focus to the list's heading.
  const forgets = await recordAnswers(page, '/auth/devices/forget');
  await page.getByRole('button', { name: /^Forget .+, this browser$/ }).click();
  await expect(page.locator('#sessions-notice')).toHaveText(/^Forgotten: this browser \(.+\) asks for your second factor/);
  await expect(page.getByRole('heading', { name: 'Remembered browsers' })).toBeFocused();
  await expect(deviceRows(page)).toHaveCount(0);
  await expect(page.locator('#no-devices')).toHaveText('No browser is remembered.');
  await page.unroute('**/auth/devices/forget');
  expect(forgets.map((a) => a.status)).toEqual([204]);
  expect(Object.keys(forgets[0].request as object)).toEqual(['deviceId']);
  expect((await context.cookies()).map((c) => c.name)).not.toContain('device_token');
  await expectAccessible(page, 'security, the remembered browser forgotten');

  // The next sign-in asks for the code again; remembered once more, then "Forget all".
  await signOut(page);
  await signIn(page, user);
  await expect(page).toHaveURL(/\/sign-in\/2fa/);
  await page.getByLabel('Remember this browser for 30 days').check();
  await codeField(page).fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/security$/);
  await expect(deviceRows(page)).toHaveCount(1);
  const forgetAll = await recordAnswers(page, '/auth/devices/forget');
  await page.getByRole('button', { name: 'Forget all remembered browsers' }).click();
  await expect(page.locator('#sessions-notice')).toHaveText(/^Every remembered browser is forgotten/);
  await expect(page.locator('#no-devices')).toBeVisible();
  await page.unroute('**/auth/devices/forget');
  expect(forgetAll.map((a) => [a.status, a.request])).toEqual([[204, { all: true }]]);

  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'Browser remembered' }).first()).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Signed in on a remembered browser' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Remembered browser forgotten' }).first()).toBeVisible();
  await screenshot(page, '18-remember-this-browser');
});

test('19. sessions: both browsers listed, one ends the other, whose next request goes to sign in', async ({
  page,
  context,
  browser,
  baseURL,
}) => {
  const user = await createUser(context.request, 'sessions');

  // Another browser signs in as the same user.
  const other = await browser.newContext({ baseURL });
  const otherPage = await other.newPage();
  const otherProblems = await watch(otherPage);
  await signIn(otherPage, user);
  await expect(otherPage).toHaveURL(/\/security$/);
  await expect(otherPage.getByText('Off.', { exact: true })).toBeVisible();

  // Here: both sessions, this one marked; no remembered browser without 2FA.
  await page.goto('/security');
  await expect(sessionRows(page)).toHaveCount(2);
  const there = sessionRows(page).filter({ hasNot: thisBrowser(page) });
  await expect(currentSessionRow(page)).toHaveCount(1);
  await expect(there).toHaveCount(1);
  await expect(currentSessionRow(page)).toContainText('Password only');
  await expect(there).toContainText('Password only');
  await expect(page.locator('#no-devices')).toHaveText(/needs two-factor authentication on/);
  await expectAccessible(page, 'security, two sessions');

  // End the other: its button names it; the list is read again, the focus on its heading.
  const revokes = await recordAnswers(page, '/auth/sessions/revoke');
  await there.getByRole('button', { name: /^End session .+, signed in / }).click();
  await expect(page.locator('#sessions-notice')).toHaveText(/^Session ended: .+ is signed out\.$/);
  await expect(page.getByRole('heading', { name: 'Where you are signed in' })).toBeFocused();
  await expect(sessionRows(page)).toHaveCount(1);
  await expect(currentSessionRow(page)).toHaveCount(1);
  await page.unroute('**/auth/sessions/revoke');
  expect(revokes.map((a) => a.status)).toEqual([204]);
  expect(Object.keys(revokes[0].request as object)).toEqual(['sessionId']);
  await expectAccessible(page, 'security, a session ended');

  // There, the next request gets 401, the refresh too: to sign in, with the way back.
  await otherPage.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(otherPage).toHaveURL(/\/sign-in\?reason=signed-out&returnUrl=%2Fsecurity%2Flog$/);
  await expect(otherPage.getByText('Your session has ended. Sign in to continue.')).toBeVisible();

  // A list older than the session: signed in there again, then signed out there; here the list still shows it.
  // Ending it is 404 session_not_found: said, and the list read again.
  await otherPage.getByLabel('Email').fill(user.email);
  await otherPage.getByLabel('Password').fill(user.password);
  await otherPage.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(otherPage).toHaveURL(/\/security\/log$/);
  await page.reload();
  await expect(sessionRows(page)).toHaveCount(2);
  await otherPage.goto('/security');
  await otherPage.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(otherPage.getByText('You are signed out.')).toBeVisible();
  expect(otherProblems).toEqual([]);
  await other.close();
  const stale = await recordAnswers(page, '/auth/sessions/revoke');
  await there.getByRole('button', { name: /^End session / }).click();
  await expect(page.locator('#session-action-error')).toHaveText(
    '⚠ That session had ended already. The list is up to date now.',
  );
  await expect(sessionRows(page)).toHaveCount(1);
  await page.unroute('**/auth/sessions/revoke');
  expect(stale.map((a) => [a.status, a.body.error])).toEqual([[404, 'session_not_found']]);
  await expectAccessible(page, 'security, a session that had ended');

  // This browser's own session: ending it is signing out.
  await currentSessionRow(page)
    .getByRole('button', { name: /^End session .+, this browser \(signs you out\)$/ })
    .click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByText('You are signed out.')).toBeVisible();
  await page.goto('/security');
  await expect(page).toHaveURL(/\/sign-in$/);
  await screenshot(page, '19-sessions');
});

test('20. sign in with a passkey: "Sign in with a passkey", and the email field’s autofill', async ({ page, context }) => {
  // Discoverable: the passkey signs in without an account named.
  const authenticator = await addVirtualAuthenticator(page, { discoverable: true });
  const user = await createUser(context.request, 'pksignin');
  await page.goto('/security');
  await createPasskeyOnPage(page, 'Laptop', true);
  await saveFirstCodes(page);
  const [credential] = await credentialsOf(authenticator);
  expect(credential.isResidentCredential).toBe(true);
  const credentialId = Buffer.from(credential.credentialId, 'base64').toString('base64url');
  const options = await recordAnswers(page, '/auth/passkey/options');
  const logins = await recordAnswers(page, '/auth/passkey/login');
  const button = page.getByRole('button', { name: 'Sign in with a passkey' });

  // 1. The button. The virtual authenticator answers a conditional request at once (as if the passkey were picked
  //    in the autofill the moment the page opened): without presence, the sign-in page's conditional request waits,
  //    as for a person who does not pick it; the button stops it and asks with a modal request.
  await simulatePresence(authenticator, false);
  await signOut(page);
  await expect(page.getByLabel('Email')).toHaveAttribute('autocomplete', 'username webauthn');
  await expect(button).toBeVisible();
  await expect.poll(() => options.length).toBe(1); // the conditional request's options, body {}
  expect(options[0].request).toEqual({});
  await expectAccessible(page, 'sign-in, a passkey offered');
  await docsScreenshot(page, 'sign-in-passkey');
  expect(logins).toEqual([]);
  await simulatePresence(authenticator, true); // the waiting conditional request stays waiting
  await button.click();
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByText('Signed in with a passkey')).toBeVisible();
  expect(options.length).toBe(2); // the button's own
  expect(logins.map((a) => a.status)).toEqual([200]);
  const proof = logins[0].request as { ceremonyId: string; credential: { id: string } };
  expect(Object.keys(proof)).toEqual(['ceremonyId', 'credential']);
  expect(proof.ceremonyId).toBe(options[1].body['ceremonyId']);
  expect(proof.credential.id).toBe(credentialId);
  expect(logins[0].body).toMatchObject({ requires2FA: false, requires2FASetup: false, user: { email: user.email, aal: 2 } });
  await expect(currentSessionRow(page)).toContainText('Passkey');
  await expectAccessible(page, 'security, signed in with a passkey');

  // 2. The autofill: signed out with presence, the page's conditional request is answered (picked), nothing typed.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect.poll(() => logins.length).toBe(2);
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByText('Signed in with a passkey')).toBeVisible();
  expect(logins.map((a) => a.status)).toEqual([200, 200]);
  expect((logins[1].request as { ceremonyId: string }).ceremonyId).toBe(options[2].body['ceremonyId']);

  // 3. The first sign-in's request replayed (the page's next one goes out with its body): its ceremony is used up,
  //    400 ceremony_expired, and the page asks to try again; the next try signs in. The sign-in page's conditional
  //    request is held at its options, so the authenticator (present) can answer only the button's request; waiting
  //    for an options answer and then changing presence raced the page's own call to the authenticator.
  const conditionalOptions = await holdNextRequest(page, '/auth/passkey/options');
  await signOut(page);
  expect(await conditionalOptions.sent).toEqual({});
  await sendInsteadOnce(page, '/auth/passkey/login', proof);
  await button.click();
  await expect(page.locator('#sign-in-passkey-error')).toHaveText(
    '⚠ The passkey request expired before it was used. Choose “Sign in with a passkey” to try again.',
  );
  await expect(button).toBeFocused();
  await expect(page).toHaveURL(/\/sign-in$/);
  expect(logins[2].request).toEqual(proof);
  expect([logins[2].status, logins[2].body.error]).toEqual([400, 'ceremony_expired']);
  await expectAccessible(page, 'sign-in, a passkey refused');
  await button.click();
  await expect(page).toHaveURL(/\/security$/);
  await page.unroute('**/auth/passkey/login');
  await page.unroute('**/auth/passkey/options');
  expect(logins.map((a) => a.status)).toEqual([200, 200, 400, 200]);

  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'Signed in with a passkey' }).first()).toBeVisible();
  await screenshot(page, '20-passkey-sign-in');
});

test('21. change the email address: a link to the new one, then every session ends and the new one signs in', async ({
  page,
  context,
  request,
}) => {
  const user = await createUser(context.request, 'chemail');
  const taken = await createUser(request, 'taken'); // another account (its own cookies)
  const newAddress = newEmail('chemail-new');
  await page.goto('/security');
  await expect(page.getByText(user.email)).toBeVisible();
  const field = page.getByLabel('New email address');
  const send = page.getByRole('button', { name: 'Send confirmation link' });
  await expectAccessible(page, 'security, change email');

  // Refused next to the field: not an address here, another account's by the API (409 email_taken).
  await field.fill('not-an-address');
  await send.click();
  await expect(page.locator('#new-email-error')).toHaveText('⚠ Enter the new address, like name@example.com.');
  await expect(field).toBeFocused();
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  const changes = await recordAnswers(page, '/auth/email/change');
  await field.fill(taken.email);
  await send.click();
  await expect.poll(() => changes.length).toBe(1);
  expect([changes[0].status, changes[0].body.error]).toEqual([409, 'email_taken']);
  await expect(page.locator('#new-email-error')).toHaveText(`⚠ ${changes[0].body.message}`);
  await expect(field).toBeFocused();
  await expectAccessible(page, 'security, change email with an error');

  // An old proof: the dialog asks for the password, then the request goes again, once: 202.
  await ageSession(context);
  await field.fill(newAddress);
  await send.click();
  const dialog = reauthDialog(page);
  await expect(dialog.getByLabel('Your password')).toBeFocused();
  await dialog.getByLabel('Your password').fill(user.password);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator('#change-email-status')).toHaveText(
    `We sent a confirmation link to ${newAddress}; your address changes when you open it.`,
  );
  await expect(field).toHaveValue('');
  await page.unroute('**/auth/email/change');
  expect(changes.map((a) => [a.status, a.body.error])).toEqual([
    [409, 'email_taken'],
    [401, 'unauthorized'],
    [401, 'reauthentication_required'],
    [202, undefined],
  ]);
  expect(changes[3].request).toEqual({ newEmail: newAddress });
  await expect(page.getByText(user.email)).toBeVisible(); // nothing changes until the link is opened
  await expectAccessible(page, 'security, confirmation link sent');

  // The link goes to the new address (the current one gets a notice, not a link) and opens the verify-email page.
  const link = await mailLink(newAddress, '/verify-email');
  expect(link).toMatch(/^\/verify-email#token=[\w.-]+$/);
  expect(await mailLinks(user.email, '/verify-email')).toHaveLength(1); // the sign-up's only
  await page.goto(link);
  await expect(page).toHaveURL(/\/verify-email$/);
  await expect(page.getByRole('heading', { name: 'Is this your address?' })).toBeVisible();
  const verifies = await recordAnswers(page, '/auth/email/verify');
  await page.getByRole('button', { name: 'Confirm this address' }).click();
  await expect(page.getByRole('heading', { name: 'Your email address is changed' })).toBeFocused();
  await expect(page.getByText('Every session was signed out')).toBeVisible();
  await page.unroute('**/auth/email/verify');
  expect(verifies.map((a) => [a.status, a.body.message])).toEqual([[200, 'email changed']]);
  await expectAccessible(page, 'verify email, address changed');
  expect((await context.request.get('/auth/me')).status()).toBe(401); // this session ended too

  // Sign in: the old address no longer signs in, the new one does, verified.
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByText('Your email address is changed. Sign in with your new address.')).toBeVisible();
  await expectPasswordRefused(page, user.email, user.password);
  await signIn(page, { ...user, email: newAddress });
  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByText(newAddress)).toBeVisible();
  await expect(page.locator('#email-state')).toHaveText('Verified');
  await page.getByRole('link', { name: 'Security log', exact: true }).click();
  await expect(page.getByRole('cell', { name: 'Email change requested' })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Email address changed' })).toBeVisible();
  await screenshot(page, '21-change-email');
});

test('22. delete the account: the email typed again, an old proof confirmed, then sign in says so', async ({
  page,
  context,
}) => {
  const user = await createUser(context.request, 'delete');
  await page.goto('/security');
  await expect(page.getByText(user.email)).toBeVisible();
  const confirmField = page.getByLabel('Type your email address to confirm');
  const deleteButton = page.getByRole('button', { name: 'Delete account' });
  await expect(page.getByRole('heading', { name: 'Delete account' })).toBeVisible();
  await expect(deleteButton).toHaveAccessibleDescription(/this cannot be undone/i);

  // Disabled until the account's address is typed (trimmed, in any case).
  await expect(deleteButton).toBeDisabled();
  await expectAccessible(page, 'security, delete account');
  await confirmField.fill('someone-else@example.com');
  await expect(deleteButton).toBeDisabled();
  await confirmField.fill(`  ${user.email.toUpperCase()} `);
  await expect(deleteButton).toBeEnabled();
  await expectAccessible(page, 'security, delete account confirmed');

  // An old proof: the dialog first; cancelled, nothing is deleted and the focus is back on the button.
  await ageSession(context);
  const deletions = await recordAnswers(page, '/auth/account/delete');
  await deleteButton.click();
  const dialog = reauthDialog(page);
  await expect(dialog.getByLabel('Your password')).toBeFocused();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(deleteButton).toBeFocused();
  await expect(page.locator('#delete-account-error')).toHaveText(/Not done: this change needs you to confirm it’s you/);
  await expectAccessible(page, 'security, deletion not done');

  // Again, with the password: deleted, and to sign in with the message.
  await deleteButton.click();
  await expect(dialog.getByLabel('Your password')).toBeFocused();
  await dialog.getByLabel('Your password').fill(user.password);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByText('Your account was deleted.')).toBeVisible();
  await page.unroute('**/auth/account/delete');
  expect(deletions.map((a) => [a.status, a.body.error])).toEqual([
    [401, 'unauthorized'],
    [401, 'reauthentication_required'],
    [401, 'reauthentication_required'],
    [200, undefined],
  ]);
  expect(deletions[3].request).toEqual({ email: user.email });
  await expectAccessible(page, 'sign-in, account deleted');
  await screenshot(page, '22-delete-account');

  // Nothing of it works any more: the password, the session.
  expect((await context.request.get('/auth/me')).status()).toBe(401);
  await expectPasswordRefused(page, user.email, user.password);
});
