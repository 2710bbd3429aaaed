import { Component, Injector, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiError, ApiService } from '../shared/api.service';
import { ErrorMessage } from '../shared/error-message';
import { focusAfterRender } from '../shared/focus';
import { LinkProblem, NO_TOKEN } from '../shared/link-problem';
import { onLinkToken } from '../shared/mail-link';
import { ResendVerification } from '../shared/resend-verification';
import { Submission } from '../shared/submission';
import { SignInState } from './sign-in';

type State = 'confirm' | 'verified' | 'changed' | 'invalid';

/** What `POST /auth/email/verify` answers for the link of an email change (API.md v3). */
const EMAIL_CHANGED = 'email changed';

/**
 * The verification mail's link, and (v3) the link that confirms a new
 * address. Opening it verifies nothing: mail scanners open links on their own,
 * so the address is verified only when the person presses "Confirm this
 * address". Works signed in or not; signed in, a link that no longer works
 * comes with "send the link again". An email change, once confirmed, has
 * ended every session: the page says so and offers sign in.
 */
@Component({
  selector: 'app-verify-email',
  imports: [RouterLink, ErrorMessage, LinkProblem, ResendVerification],
  template: `
    <h1 tabindex="-1">Verify your email address</h1>
    <p class="status" role="status">{{ verifying.busy() ? 'Confirming your address…' : '' }}</p>
    @switch (state()) {
      @case ('confirm') {
        <section aria-labelledby="confirm-heading">
          <h2 id="confirm-heading">Is this your address?</h2>
          <p>You opened the link from our mail. Confirm that the address it went to is yours: security notices
            and password reset links for your account go to a verified address. Nothing changes until you
            confirm.</p>
          <button type="button" [attr.aria-disabled]="verifying.busy() ? true : null" aria-describedby="verify-error"
                  (click)="verify()">
            {{ verifying.busy() ? 'Confirming…' : 'Confirm this address' }}
          </button>
          <app-error id="verify-error" [error]="verifying.error()" />
        </section>
      }
      @case ('verified') {
        <section aria-labelledby="verified-heading">
          <h2 id="verified-heading" tabindex="-1">Your email address is verified</h2>
          <p class="notice success">Security notices and password reset links for your account go to this
            address.</p>
          @if (api.user()) {
            <a class="button" routerLink="/security">Go to security</a>
          } @else {
            <a class="button" routerLink="/sign-in">Sign in</a>
          }
        </section>
      }
      @case ('changed') {
        <section aria-labelledby="changed-heading">
          <h2 id="changed-heading" tabindex="-1">Your email address is changed</h2>
          <p class="notice success">Your account now uses the address this link was sent to, and it is verified.
            Every session was signed out, on every browser and device, this one included: sign in with your new
            address.</p>
          <a class="button" routerLink="/sign-in" [state]="signInState">Sign in</a>
        </section>
      }
      @case ('invalid') {
        <app-link-problem [error]="linkError()">
          @if (api.user(); as user) {
            @if (user.emailVerified) {
              <p>Your address {{ user.email }} is verified already: there is nothing more to do.</p>
              <p><a routerLink="/security">Go to security</a></p>
            } @else {
              <p>Ask for a new link to {{ user.email }}:</p>
              <app-resend-verification fieldId="verify-resend" (alreadyVerified)="whoIsSignedIn()" />
            }
            <p>A link to change your address? Ask for a new one on the <a routerLink="/security">security
              page</a>.</p>
          } @else {
            <p><a routerLink="/sign-in">Sign in</a> to ask for a new link: the security page sends it.</p>
          }
        </app-link-problem>
      }
    }
  `,
})
export class VerifyEmailPage {
  protected readonly api = inject(ApiService);
  private readonly injector = inject(Injector);

  /** Kept in memory only: the address bar no longer has it. */
  private token: string | null = null;
  protected readonly state = signal<State>('confirm');
  protected readonly linkError = signal<ApiError | string | null>(null);
  protected readonly verifying = new Submission();
  /** The sign-in page after an email change says why (no address in it: the page does not know the new one). */
  protected readonly signInState: SignInState = { notice: 'Your email address is changed. Sign in with your new address.' };

  constructor() {
    // Read the link, never send it: the API hears of the token only on "Confirm this address".
    onLinkToken((token) => {
      this.token = token;
      this.verifying.error.set(null);
      if (token) {
        this.linkError.set(null);
        this.state.set('confirm');
      } else {
        this.linkError.set(NO_TOKEN);
        this.settle('invalid');
      }
    });
  }

  /** The person's "Confirm this address"; another error than a dead link is shown by the button, which tries again. */
  protected verify(): void {
    if (!this.token) return;
    this.verifying.run(
      this.api.verifyEmail(this.token),
      ({ message }) => {
        if (message === EMAIL_CHANGED) {
          // The token version changed: this browser's session (if any) ended with every other.
          this.api.user.set(null);
          this.state.set('changed');
          focusAfterRender(this.injector, '#changed-heading');
        } else {
          this.settle('verified', '#verified-heading');
        }
      },
      (error) => {
        // A new address another account took meanwhile (409 email_taken) is a link that cannot work either.
        if (error.code === 'invalid_token' || error.code === 'email_taken') {
          this.linkError.set(error);
          this.settle('invalid', '#link-problem-heading');
        }
      },
    );
  }

  /** Signed in or not, quietly (no trip to sign in): it decides what the page offers. */
  protected whoIsSignedIn(): void {
    this.api.signedInUser().subscribe({ error: () => this.api.user.set(null) });
  }

  private settle(state: State, heading?: string): void {
    this.state.set(state);
    this.whoIsSignedIn(); // after a verification, emailVerified is true
    if (heading) focusAfterRender(this.injector, heading);
  }
}
