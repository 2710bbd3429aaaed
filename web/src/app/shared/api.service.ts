import { HttpClient, HttpContext, HttpContextToken, HttpErrorResponse } from '@angular/common/http';
import { Injectable, inject, signal } from '@angular/core';
import { Observable, catchError, finalize, map, of, shareReplay, tap, throwError } from 'rxjs';

// The types of the HTTP contract (API.md). Every route is same-origin
// (`/auth/...`): the dev server and scripts/serve.mjs proxy it to the API, so
// the session cookies are first-party and the CSP's connect-src 'self' holds.

export interface User {
  id: string;
  email: string;
  emailVerified: boolean;
  role: 'user' | 'admin';
  twoFactorEnabled: boolean;
  aal: 1 | 2;
  /** v3: how many passkey factors the user has (absent from an older API: none). */
  passkeys?: number;
}

export interface LoginResult {
  requires2FA: boolean;
  requires2FASetup?: boolean;
  user?: User;
}

export interface TwoFactorStatus {
  enabled: boolean;
  enabledAt: string | null;
  backupCodesRemaining: number | null;
  /** v3: how many second factors (0 when off). */
  factors?: number;
}

/** A second factor (v3): an authenticator app or a passkey. */
export interface Factor {
  id: string;
  type: 'totp' | 'passkey';
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** Passkeys only: the authenticator's backup-eligible flag (the credential may live in a cloud account). */
  synced?: boolean;
}

/** What `POST /auth/2fa/challenge` and `POST /auth/factors/passkey/options` answer: one WebAuthn ceremony. */
export interface Ceremony<Options> {
  ceremonyId: string;
  publicKey: Options;
}
export type AssertionCeremony = Ceremony<PublicKeyCredentialRequestOptionsJSON>;
export type RegistrationCeremony = Ceremony<PublicKeyCredentialCreationOptionsJSON>;

/** The first factor turns 2FA on: its answer has the backup codes, shown once. */
export interface FactorAdded {
  factor: Factor;
  backupCodes?: string[];
}

export interface SetupResult {
  secret: string;
  otpauthUrl: string;
  qrCode: string;
}

/** A live session (v3): what one sign-in opened, as `GET /auth/sessions` lists it. */
export interface Session {
  id: string;
  /** The session of this request's access token: this browser. */
  current: boolean;
  createdAt: string;
  /** The sign-in or the last refresh. */
  lastUsedAt: string | null;
  aal: 1 | 2;
  /** How it signed in: `pwd`, `otp`, `backup`, `hwk`, `swk`, `device`. */
  amr: string[];
  ip: string | null;
  /** The user agent described ("Firefox 140 on Linux"), never the raw header. */
  device: string | null;
}

/** A remembered browser (v3): it signs in with the password alone while remembered (30 days). */
export interface RememberedDevice {
  id: string;
  device: string | null;
  ip: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  /** Its cookie came with the request: this browser. */
  current: boolean;
}

export interface AuditEvent {
  type: string;
  at: string;
  ip: string | null;
  userAgent: string | null;
}

/** A request that may go without a session: its 401 is refreshed once, but never sends to sign in. */
export const OPTIONAL_SESSION = new HttpContextToken<boolean>(() => false);

/** A passkey's answer to a challenge (`credential.toJSON()` of an assertion), as every proof route takes it. */
export interface PasskeyProof {
  passkey: { ceremonyId: string; credential: unknown };
}

/** Proof of the second factor: a TOTP code, a backup code or a passkey, exactly one. */
export type SecondFactor = { code: string } | { backupCode: string } | PasskeyProof;

/** The second factor with 2FA on, the password with it off (`POST /auth/reauthenticate`). */
export type Reauthentication = SecondFactor | { password: string };

/**
 * A request whose 401 is its own answer, not the session's: it identifies the
 * user otherwise (the pre-2FA cookie, a reset link's token). No refresh, no
 * trip to sign in, no re-authentication.
 */
export const OWN_UNAUTHORIZED = new HttpContextToken<boolean>(() => false);

/** An API error as the pages show it: `{error, message}` plus status and Retry-After. */
export class ApiError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly retryAfter: number | null,
  ) {}
}

/** The request reached no API (status 0) or the proxy said so (502/504). */
const UNREACHABLE = 'The service cannot be reached. Check your connection and try again.';

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (!(err instanceof HttpErrorResponse)) return new ApiError(0, 'client', String(err), null);
  const body = typeof err.error === 'object' && err.error !== null ? err.error : {};
  const retryAfter = parseRetryAfter(err.headers.get('Retry-After'));
  const code = typeof body.error === 'string' ? body.error : `http_${err.status}`;
  let message = typeof body.message === 'string' ? body.message : '';
  if (!message) {
    message =
      err.status === 0 || err.status === 502 || err.status === 504
        ? UNREACHABLE
        : err.status === 503
          ? 'The service is busy.'
          : 'Something went wrong.';
  }
  return new ApiError(err.status, code, message, retryAfter);
}

/** Retry-After is seconds or an HTTP date; either becomes whole seconds from now. */
function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : null;
}

/** The one client of the API: every page talks to the server through here. */
@Injectable({ providedIn: 'root' })
export class ApiService {
  private readonly http = inject(HttpClient);

  /** The signed-in user as last read from the API; null when unknown or signed out. */
  readonly user = signal<User | null>(null);

  /** How many refreshes succeeded: a 401 to a request sent before the last one needs none. */
  refreshCount = 0;
  private refreshing: Observable<void> | null = null;

  register(email: string, password: string) {
    return this.post<{ id: string; email: string }>('/auth/register', { email, password });
  }

  login(email: string, password: string) {
    return this.post<LoginResult>('/auth/login', { email, password }).pipe(
      tap((result) => this.user.set(result.user ?? null)),
    );
  }

  /**
   * `rememberDevice` also remembers this browser (v3): only with a code or a
   * passkey, never with a backup code (the API answers 400 then), so it is
   * dropped for one here too.
   */
  verifyLogin(proof: SecondFactor, rememberDevice = false) {
    const body = rememberDevice && !('backupCode' in proof) ? { ...proof, rememberDevice: true } : proof;
    return this.post<{ message: string; user: User }>('/auth/2fa/verify-login', body).pipe(
      tap((result) => this.user.set(result.user)),
    );
  }

  /** The options of a passkey sign-in (no account named: the browser offers its discoverable passkeys). */
  passkeySignInOptions() {
    return this.post<AssertionCeremony>('/auth/passkey/options', {});
  }

  /** The browser's assertion for those options: an aal-2 session, as a login without 2FA answers. */
  passkeyLogin(ceremonyId: string, credential: unknown) {
    return this.post<LoginResult>('/auth/passkey/login', { ceremonyId, credential }).pipe(
      tap((result) => this.user.set(result.user ?? null)),
    );
  }

  me() {
    return this.get<User>('/auth/me').pipe(tap((user) => this.user.set(user)));
  }

  /**
   * The user if this browser is signed in, else null: a page that works
   * signed out too (verify-email) asks this way, so that no answer sends it
   * to sign in (the session is still refreshed once when it can be).
   */
  signedInUser(): Observable<User | null> {
    return this.get<User>('/auth/me', new HttpContext().set(OPTIONAL_SESSION, true)).pipe(
      tap((user) => this.user.set(user)),
      catchError((error: ApiError) => {
        if (error.status !== 401) return throwError(() => error);
        this.user.set(null);
        return of(null);
      }),
    );
  }

  /** The token of a verification mail's link. */
  verifyEmail(token: string) {
    return this.post<{ message: string }>('/auth/email/verify', { token });
  }

  /** A confirmation link to the new address (202); the address changes when the link is used. */
  changeEmail(newEmail: string) {
    return this.post<{ message: string }>('/auth/email/change', { newEmail });
  }

  /** The current email typed again as confirmation; the API clears the cookies. */
  deleteAccount(email: string) {
    return this.post<{ message: string }>('/auth/account/delete', { email }).pipe(tap(() => this.user.set(null)));
  }

  /** A new verification mail; the older link stops working. */
  resendVerification() {
    return this.post<{ message: string }>('/auth/email/resend');
  }

  /** Always 202 for a well-formed address, whether or not an account has it. */
  forgotPassword(email: string) {
    return this.post<{ message: string }>('/auth/password/forgot', { email });
  }

  /** The reset link's token and the new password; with 2FA on, the proof too. */
  resetPassword(token: string, password: string, proof?: SecondFactor) {
    return this.post<{ message: string }>('/auth/password/reset', { token, password, ...proof }, new HttpContext().set(OWN_UNAUTHORIZED, true));
  }

  /** The caller stays signed in (fresh cookies); every other session ends. */
  changePassword(currentPassword: string, newPassword: string) {
    return this.post<{ message: string }>('/auth/password/change', { currentPassword, newPassword });
  }

  twoFactorStatus() {
    return this.get<TwoFactorStatus>('/auth/2fa/status');
  }

  /** A pending authenticator app: the first turns 2FA on, a further one (2FA on) is added beside the others. */
  startSetup(name?: string) {
    return this.post<SetupResult>('/auth/2fa/setup', name ? { name } : null);
  }

  /** The first app: backup codes and fresh aal-2 cookies; a further one: only `factor`. */
  enable(code: string, name?: string) {
    return this.post<{ message: string; backupCodes?: string[]; factor?: Factor }>('/auth/2fa/enable', {
      code,
      ...(name ? { name } : {}),
    });
  }

  /** Every factor and the backup codes go. */
  disable(proof: SecondFactor) {
    return this.post<{ message: string }>('/auth/2fa/disable', proof);
  }

  /** With a current TOTP code or a passkey (not a backup code). */
  regenerateBackupCodes(proof: { code: string } | PasskeyProof) {
    return this.post<{ backupCodes: string[] }>('/auth/2fa/backup-codes', proof);
  }

  /** The user's second factors, oldest first. */
  factors() {
    return this.get<{ factors: Factor[]; backupCodesRemaining: number | null }>('/auth/factors');
  }

  renameFactor(factorId: string, name: string) {
    return this.post<Factor>('/auth/factors/rename', { factorId, name });
  }

  /** Never the last one (`409 last_factor`); the caller gets fresh cookies. */
  removeFactor(factorId: string) {
    return this.post<{ message: string }>('/auth/factors/remove', { factorId });
  }

  /** The options for a new passkey (the registration ceremony). */
  passkeyOptions(name?: string) {
    return this.post<RegistrationCeremony>('/auth/factors/passkey/options', name ? { name } : {});
  }

  /** The browser's new credential; the first factor also turns 2FA on (backup codes, fresh cookies). */
  registerPasskey(ceremonyId: string, credential: unknown, name?: string) {
    return this.post<FactorAdded>('/auth/factors/passkey', { ceremonyId, credential, ...(name ? { name } : {}) });
  }

  /**
   * The options for proving a passkey: for a password reset (its token), else
   * for the pre-2FA cookie at the 2FA page (`forLogin`), else for the signed-in
   * user. `409 no_passkey` when the user has none.
   */
  challenge(identify: { resetToken?: string; forLogin?: boolean } = {}) {
    const own = identify.resetToken !== undefined || identify.forLogin === true;
    const body = identify.resetToken !== undefined ? { resetToken: identify.resetToken } : {};
    return this.post<AssertionCeremony>('/auth/2fa/challenge', body, own ? new HttpContext().set(OWN_UNAUTHORIZED, true) : undefined);
  }

  /** A fresh proof for this session (`auth_time` now); the caller retries what needed it. */
  reauthenticate(proof: Reauthentication) {
    return this.post<{ message: string }>('/auth/reauthenticate', proof);
  }

  /** The user's live sessions, most recently used first. */
  sessions() {
    return this.get<{ sessions: Session[] }>('/auth/sessions').pipe(map((body) => body.sessions));
  }

  /** 204; that session ends at once (the current one: a logout, cookies cleared). `404 session_not_found`. */
  revokeSession(sessionId: string) {
    return this.post<void>('/auth/sessions/revoke', { sessionId });
  }

  /** The browsers that skip the second factor at sign-in. */
  devices() {
    return this.get<{ devices: RememberedDevice[] }>('/auth/devices').pipe(map((body) => body.devices));
  }

  /** 204; `404 device_not_found`. Forgetting this browser also clears its cookie. */
  forgetDevice(deviceId: string) {
    return this.post<void>('/auth/devices/forget', { deviceId });
  }

  forgetAllDevices() {
    return this.post<void>('/auth/devices/forget', { all: true });
  }

  auditLog() {
    return this.get<{ events: AuditEvent[] }>('/auth/audit').pipe(map((body) => body.events));
  }

  logout() {
    return this.post<void>('/auth/logout').pipe(finalize(() => this.user.set(null)));
  }

  logoutAll() {
    return this.post<void>('/auth/logout-all');
  }

  /** POST /auth/refresh, shared by every caller while one is in flight. */
  refreshSession(): Observable<void> {
    this.refreshing ??= this.post<unknown>('/auth/refresh').pipe(
      map(() => {
        this.refreshCount++;
      }),
      finalize(() => (this.refreshing = null)),
      shareReplay({ bufferSize: 1, refCount: false }),
    );
    return this.refreshing;
  }

  private get<T>(path: string, context?: HttpContext): Observable<T> {
    return this.http.get<T>(path, { context }).pipe(catchError((err) => throwError(() => toApiError(err))));
  }

  private post<T>(path: string, body: object | null = null, context?: HttpContext): Observable<T> {
    return this.http.post<T>(path, body, { context }).pipe(catchError((err) => throwError(() => toApiError(err))));
  }
}
