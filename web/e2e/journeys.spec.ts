// One user journey per test, each with its own user; run serially against one
// server (see playwright.config.ts and README.md).
import { Page } from '@playwright/test';
import jsQR from 'jsqr';
import { readFile } from 'node:fs/promises';
import {
  createUser,
  docsScreenshot,
  expect,
  expectAccessible,
  grantAdmin,
  mailLink,
  mailLinks,
  mailsTo,
  newEmail,
  nextCode,
  recordAnswers,
  screenshot,
  signIn,
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
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page).toHaveURL(/\/security$/);
  await expect(page.getByText(email)).toBeVisible();
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();
  // The setup answer, read on its way to the page (its body is not kept once the page moves on).
  const setups = await recordAnswers(page, '/auth/2fa/setup');
  await page.getByRole('link', { name: 'Turn on two-factor authentication' }).click();

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

  // Without the access cookie, /auth/me and /auth/2fa/status both get 401: one refresh, then both again.
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
  await page.getByRole('button', { name: 'Sign in' }).click();
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
  await page.goto('/sign-in');
  await expectAccessible(page, 'sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#email-error')).not.toBeEmpty();
  await expectAccessible(page, 'sign-in with an error');
  await page.goto('/sign-up');
  await expectAccessible(page, 'sign-up');

  const user = await createUser(context.request, 'axe');
  await page.goto('/security');
  await expect(page.getByText('Off.', { exact: true })).toBeVisible();
  await expectAccessible(page, 'security, 2FA off');
  await page.getByRole('link', { name: 'Turn on two-factor authentication' }).click();
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
  await page.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
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
  await expectAccessible(page, '2FA page');
  await codeField(page).fill(wrongCode(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.locator('#login-code-error')).not.toBeEmpty();
  await expectAccessible(page, '2FA page with an error');
});

/** Signs in with the given password and expects the API's refusal next to the password field. */
async function expectPasswordRefused(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
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
  await page.getByRole('button', { name: 'Sign in' }).click();
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
  const user = await createUser(context.request, 'resend');
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
