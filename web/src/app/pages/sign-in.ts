import { Component, DestroyRef, inject, input, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { Observable, Subscription, switchMap, tap } from 'rxjs';
import { ApiError, ApiService, LoginResult, toApiError } from '../shared/api.service';
import { CredentialsForm, Credentials } from '../shared/credentials-form';
import { ErrorMessage } from '../shared/error-message';
import { safeReturnUrl } from '../shared/format';
import { AssertionRequest, conditionalMediationAvailable, passkeyCancelled, passkeysSupported, provePasskey } from '../shared/passkeys';
import { Submission } from '../shared/submission';

/** What another page may hand to the sign-in page. */
export interface SignInState {
  notice?: string;
  email?: string;
}

/** What the page says to the API's refusals of a passkey sign-in (API.md "Sign-in with a passkey"). */
const PASSKEY_NOT_REGISTERED =
  'That passkey is not registered here: it may belong to another site or to an account that no longer exists. Try another passkey, or sign in with your email and password.';
const PASSKEY_EXPIRED = 'The passkey request expired before it was used. Choose “Sign in with a passkey” to try again.';
const PASSKEY_NOT_USED = 'No passkey was used. Choose “Sign in with a passkey” to try again, or sign in with your email and password.';

/**
 * Email and password, or a passkey: offered in the email field's autofill
 * (a conditional request, started on arrival when the browser can) and by
 * "Sign in with a passkey" (a modal request, which stops the waiting
 * conditional one first: the browser runs one at a time). A passkey opens an
 * aal-2 session at once.
 */
@Component({
  selector: 'app-sign-in',
  imports: [CredentialsForm, RouterLink, ErrorMessage],
  template: `
    <h1 tabindex="-1">Sign in</h1>
    @if (state.notice) {
      <p class="notice success" role="status">{{ state.notice }}</p>
    } @else if (reason() === 'signed-out') {
      <p class="notice">Your session has ended. Sign in to continue.</p>
    }
    <app-credentials-form submitLabel="Sign in" [initialEmail]="state.email ?? ''" [passkeyAutofill]="true"
                          [busy]="login.busy()" [error]="login.error()" (submitted)="signIn($event)" />
    @if (passkeys) {
      <div class="passkey-choice">
        <p>Or use a passkey for TwoFA on this device or your phone: no password or code needed.</p>
        <button type="button" class="secondary" [attr.aria-disabled]="passkeySignIn.busy() ? true : null"
                aria-describedby="sign-in-passkey-error" (click)="signInWithPasskey()">
          {{ passkeySignIn.busy() ? 'Waiting for your passkey…' : 'Sign in with a passkey' }}
        </button>
        <app-error id="sign-in-passkey-error" [error]="passkeyError()" />
        <p class="status" role="status" id="sign-in-passkey-status">{{ passkeyStatus() }}</p>
      </div>
    }
    <p><a routerLink="/forgot-password">Forgot password?</a></p>
    <p>New here? <a routerLink="/sign-up">Create an account</a></p>
  `,
})
export class SignInPage {
  private readonly api = inject(ApiService);
  private readonly router = inject(Router);

  /** Query parameters: why the user was sent here, and where to go back to. */
  readonly reason = input<string>();
  readonly returnUrl = input<string>();

  /** From the page that sent the user here (navigation state, so no email ends up in the URL). */
  protected readonly state: SignInState = this.router.currentNavigation()?.extras.state ?? {};

  protected readonly login = new Submission();
  protected readonly passkeys = passkeysSupported();
  /** The modal request of "Sign in with a passkey". */
  protected readonly passkeySignIn = new Submission();
  protected readonly passkeyError = signal<ApiError | string | null>(null);
  protected readonly passkeyStatus = signal('');

  /** The conditional request waiting in the email field's autofill, if any. */
  private conditional: { controller: AbortController; subscription: Subscription } | null = null;
  private destroyed = false;

  constructor() {
    inject(DestroyRef).onDestroy(() => {
      this.destroyed = true;
      this.stopConditional();
    });
    if (this.passkeys) void this.offerPasskeysInAutofill();
  }

  protected signIn({ email, password }: Credentials): void {
    if (this.login.busy()) return;
    // The password goes: a passkey waiting in the autofill no longer may sign in meanwhile.
    this.stopConditional();
    this.passkeyError.set(null);
    this.passkeyStatus.set('');
    this.login.run(
      this.api.login(email, password),
      (result) => this.proceed(result),
      () => void this.offerPasskeysInAutofill(), // a wrong password: the autofill offers the passkeys again
    );
  }

  /** "Sign in with a passkey": the waiting conditional request stops, a modal one asks. */
  protected signInWithPasskey(): void {
    if (this.passkeySignIn.busy()) return;
    this.stopConditional();
    this.passkeyError.set(null);
    this.passkeyStatus.set('');
    this.passkeySignIn.run(
      this.passkeyLogin({}),
      (result) => this.proceed(result),
      (error) => this.passkeyFailed(error, true),
    );
  }

  /**
   * The conditional request: it waits until the person picks a passkey in the
   * email field's autofill (never started when the browser cannot, stopped
   * when the password is sent, the button is pressed or the page is left).
   * The browser's refusals say nothing (nobody asked for anything yet); once
   * a passkey was picked, the API's answer is shown like the button's.
   */
  private async offerPasskeysInAutofill(): Promise<void> {
    if (this.conditional || !(await conditionalMediationAvailable())) return;
    if (this.destroyed || this.conditional || this.login.busy() || this.passkeySignIn.busy()) return;
    const controller = new AbortController();
    let picked = false;
    const subscription = this.passkeyLogin({ mediation: 'conditional', signal: controller.signal }, () => {
      picked = true;
      this.passkeyError.set(null);
      this.passkeyStatus.set('Signing you in with your passkey…');
    }).subscribe({
      next: (result) => {
        this.conditional = null;
        this.proceed(result);
      },
      error: (err: unknown) => {
        if (this.conditional?.controller === controller) this.conditional = null;
        this.passkeyStatus.set('');
        if (picked) this.passkeyFailed(toApiError(err), false);
      },
    });
    // A synchronous failure may have ended it already.
    if (!subscription.closed) this.conditional = { controller, subscription };
  }

  private stopConditional(): void {
    const conditional = this.conditional;
    this.conditional = null;
    conditional?.controller.abort();
    conditional?.subscription.unsubscribe();
  }

  /** Options for a sign-in (no account named), the browser's assertion, the API's check. */
  private passkeyLogin(request: AssertionRequest, picked?: () => void): Observable<LoginResult> {
    return provePasskey(this.api.passkeySignInOptions(), request).pipe(
      tap(() => picked?.()),
      switchMap(({ passkey }) => this.api.passkeyLogin(passkey.ceremonyId, passkey.credential)),
    );
  }

  /** A cancelled dialog is no alarm; the API's refusals in words; anything else as it comes. */
  private passkeyFailed(error: ApiError, asked: boolean): void {
    if (passkeyCancelled(error)) {
      if (asked) this.passkeyStatus.set(PASSKEY_NOT_USED);
      return;
    }
    if (error.code === 'invalid_credentials') this.passkeyError.set(PASSKEY_NOT_REGISTERED);
    else if (error.code === 'ceremony_expired') this.passkeyError.set(PASSKEY_EXPIRED);
    else this.passkeyError.set(error);
  }

  /** Where a successful sign-in goes: the second factor, setup for an admin without one, or the way back. */
  private proceed(result: LoginResult): void {
    if (result.requires2FA) {
      void this.router.navigate(['/sign-in/2fa'], { queryParams: { returnUrl: this.returnUrl() } });
    } else if (result.requires2FASetup) {
      void this.router.navigate(['/security/setup']);
    } else {
      void this.router.navigateByUrl(safeReturnUrl(this.returnUrl()));
    }
  }
}
