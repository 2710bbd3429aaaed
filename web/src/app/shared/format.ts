/** Dates in the reader's own locale and time zone. */
export function formatWhen(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }).format(date);
}

/** Pages that are no way back after sign-in: signing in itself, and those a mail's link opens. */
const NOT_RETURNED_TO = ['/sign-', '/verify-email', '/forgot-password', '/reset-password'];

/** A return address after sign-in: only a path of this app, never another site, never a fragment. */
export function safeReturnUrl(url: string | null | undefined): string {
  if (!url || !url.startsWith('/') || url.startsWith('//') || url.startsWith('/\\')) return '/security';
  if (NOT_RETURNED_TO.some((page) => url.startsWith(page))) return '/security';
  return url.split('#')[0];
}

/** The secret as an authenticator app's manual entry wants it: groups of four. */
export function groupsOfFour(secret: string): string {
  return secret.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

/** "Chrome 142 on Windows" from a user agent string; the string itself if nothing fits. */
export function shortUserAgent(ua: string | null): string {
  if (!ua) return '—';
  const browser =
    match(ua, /Edg(?:e|A|iOS)?\/(\d+)/, 'Edge') ??
    match(ua, /OPR\/(\d+)/, 'Opera') ??
    match(ua, /Firefox\/(\d+)/, 'Firefox') ??
    match(ua, /FxiOS\/(\d+)/, 'Firefox') ??
    match(ua, /CriOS\/(\d+)/, 'Chrome') ??
    match(ua, /(?:Chrome|Chromium)\/(\d+)/, 'Chrome') ??
    match(ua, /Version\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//, 'Safari') ??
    match(ua, /^curl\/([\d.]+)/, 'curl');
  const os =
    /Windows/.test(ua) ? 'Windows'
    : /iPhone|iPad|iPod/.test(ua) ? 'iOS'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS'
    : /Android/.test(ua) ? 'Android'
    : /CrOS/.test(ua) ? 'ChromeOS'
    : /Linux/.test(ua) ? 'Linux'
    : null;
  if (browser) return os ? `${browser} on ${os}` : browser;
  return ua.length > 40 ? `${ua.slice(0, 39)}…` : ua;
}

function match(ua: string, pattern: RegExp, name: string): string | null {
  const found = pattern.exec(ua);
  return found ? `${name} ${found[1]}` : null;
}

/** What a factor's name field says (API.md: 1 to 64 characters after trimming, no control characters). */
export const FACTOR_NAME_HINT = 'Up to 64 characters, like “Work phone”.';

/**
 * A factor's name as typed: `value` trimmed, undefined when blank (the API then
 * names it), or `error` when the API would refuse it.
 */
export function checkFactorName(typed: string, required = false): { value?: string; error?: string } {
  const value = typed.trim();
  if (!value) return required ? { error: 'Enter a name.' } : {};
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return { error: 'Use letters, digits and punctuation only.' };
  if ([...value].length > 64) return { error: 'Use at most 64 characters.' };
  return { value };
}

/** The sign-in methods of a session (`amr`), in words. */
const METHOD_WORDS: Record<string, string> = {
  pwd: 'password',
  otp: 'authenticator app',
  backup: 'backup code',
  hwk: 'passkey',
  swk: 'passkey',
  device: 'remembered browser',
};

/**
 * How a session signed in, from its `amr`: "Password only", "Password and
 * authenticator app", "Passkey", "Password and remembered browser".
 */
export function describeSignIn(amr: readonly string[]): string {
  const words = amr.map((method) => METHOD_WORDS[method] ?? method);
  if (words.length === 0) return 'Unknown';
  const text =
    words.length === 1
      ? words[0] === 'password' ? 'password only' : words[0]
      : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A browser as the API describes it ("Firefox 140 on Linux"), or words for none. */
export function describeDevice(device: string | null): string {
  return device?.trim() || 'Unknown browser';
}
