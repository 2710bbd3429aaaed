import { Component, Injector, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiService } from '../shared/api.service';
import { CredentialsForm, Credentials } from '../shared/credentials-form';
import { focusAfterRender } from '../shared/focus';
import { Submission } from '../shared/submission';

/**
 * The email of the account, and always the same answer: the API says 202
 * whether or not an account has that address, and so does this page.
 */
@Component({
  selector: 'app-forgot-password',
  imports: [CredentialsForm, RouterLink],
  template: `
    <h1 tabindex="-1">Forgot your password?</h1>
    @if (sentTo(); as email) {
      <section aria-labelledby="sent-heading">
        <h2 id="sent-heading" tabindex="-1">Check your mail</h2>
        <p class="notice success" id="forgot-answer">If an account exists for {{ email }}, we sent a link.</p>
        <p>The link lets you choose a new password once, within 30 minutes; asking again makes older links stop
          working. If your account uses two-factor authentication, keep your authenticator app, a passkey or a
          backup code at hand: the new password needs one.</p>
        <p>No mail after a few minutes? Look in your spam folder, or
          <button type="button" class="link" (click)="again()">send a link again</button>.</p>
      </section>
    } @else {
      <p>Enter the email address of your account, and we will send you a link to choose a new password.</p>
      <app-credentials-form submitLabel="Send the link" [askPassword]="false" [initialEmail]="lastEmail()"
                            [busy]="request.busy()" [error]="request.error()" (submitted)="send($event)" />
    }
    <p><a routerLink="/sign-in">Back to sign in</a></p>
  `,
})
export class ForgotPasswordPage {
  private readonly api = inject(ApiService);
  private readonly injector = inject(Injector);
  protected readonly request = new Submission();
  protected readonly sentTo = signal<string | null>(null);
  protected readonly lastEmail = signal('');

  protected send({ email }: Credentials): void {
    // The answer is the same for every well-formed address: the page shows its own words, never a difference.
    this.request.run(this.api.forgotPassword(email), () => {
      this.lastEmail.set(email);
      this.sentTo.set(email);
      focusAfterRender(this.injector, '#sent-heading');
    });
  }

  protected again(): void {
    this.sentTo.set(null);
    focusAfterRender(this.injector, '#email');
  }
}
