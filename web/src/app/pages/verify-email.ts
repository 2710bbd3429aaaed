import { Component, Injector, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiError, ApiService } from '../shared/api.service';
import { ErrorMessage } from '../shared/error-message';
import { focusAfterRender } from '../shared/focus';
import { LinkProblem, NO_TOKEN } from '../shared/link-problem';
import { onLinkToken } from '../shared/mail-link';
import { ResendVerification } from '../shared/resend-verification';
import { Submission } from '../shared/submission';

type State = 'confirm' | 'verified' | 'invalid';

/**
 * The verification mail's link. Opening it verifies nothing: mail scanners
 * open links on their own, so the address is verified only when the person
 * presses "Confirm this address". Works signed in or not; signed in, a link
 * that no longer works comes with "send the link again".
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
      () => this.settle('verified', '#verified-heading'),
      (error) => {
        if (error.code === 'invalid_token') {
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
