import { Component, Injector, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiError, ApiService } from '../shared/api.service';
import { ErrorMessage } from '../shared/error-message';
import { focusAfterRender } from '../shared/focus';
import { LinkProblem, NO_TOKEN } from '../shared/link-problem';
import { onLinkToken } from '../shared/mail-link';
import { ResendVerification } from '../shared/resend-verification';
import { Submission } from '../shared/submission';

type State = 'checking' | 'verified' | 'invalid' | 'failed';

/**
 * The verification mail's link. Works signed in or not; signed in, a link
 * that no longer works comes with "send the link again".
 */
@Component({
  selector: 'app-verify-email',
  imports: [RouterLink, ErrorMessage, LinkProblem, ResendVerification],
  template: `
    <h1 tabindex="-1">Verify your email address</h1>
    <p class="status" role="status">{{ state() === 'checking' ? 'Checking your link…' : '' }}</p>
    @switch (state()) {
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
      @case ('failed') {
        <app-error id="verify-error" [error]="verifying.error()" />
        <button type="button" class="secondary" (click)="verify()">Try again</button>
      }
    }
  `,
})
export class VerifyEmailPage {
  protected readonly api = inject(ApiService);
  private readonly injector = inject(Injector);

  /** Kept in memory only: the address bar no longer has it. */
  private token: string | null = null;
  protected readonly state = signal<State>('checking');
  protected readonly linkError = signal<ApiError | string | null>(null);
  protected readonly verifying = new Submission();

  constructor() {
    onLinkToken((token) => {
      this.token = token;
      if (token) {
        this.verify();
      } else {
        this.linkError.set(NO_TOKEN);
        this.settle('invalid');
      }
    });
  }

  protected verify(): void {
    if (!this.token) return;
    this.state.set('checking');
    this.verifying.run(
      this.api.verifyEmail(this.token),
      () => this.settle('verified', '#verified-heading'),
      (error) => {
        if (error.code === 'invalid_token') {
          this.linkError.set(error);
          this.settle('invalid', '#link-problem-heading');
        } else {
          this.settle('failed');
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
