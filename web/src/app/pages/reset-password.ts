import { Component, Injector, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { Observable, switchMap } from 'rxjs';
import { ApiError, ApiService, SecondFactor } from '../shared/api.service';
import { focusAfterRender } from '../shared/focus';
import { LinkProblem, NO_TOKEN } from '../shared/link-problem';
import { onLinkToken } from '../shared/mail-link';
import { PrefetchedCeremony, passkeysSupported } from '../shared/passkeys';
import { PasswordChoice, PasswordForm } from '../shared/password-form';
import { SecondFactorForm } from '../shared/second-factor-form';
import { Submission } from '../shared/submission';
import { SignInState } from './sign-in';

type Stage = 'password' | 'second-factor' | 'done' | 'invalid';

/**
 * The reset mail's link: a new password, typed twice. An account with 2FA on
 * is answered `second_factor_required` (the token is not used up): the page
 * then asks for a code or a backup code, or a passkey when the account has one
 * (the challenge for the reset token answers 200; `409 no_passkey` when
 * none), and sends all again. No session is opened: the user signs in next.
 */
@Component({
  selector: 'app-reset-password',
  imports: [RouterLink, PasswordForm, SecondFactorForm, LinkProblem],
  template: `
    <h1 tabindex="-1">Choose a new password</h1>
    @switch (stage()) {
      @case ('password') {
        <p>Every browser and device signed in to your account will be signed out.</p>
        <app-password-form fieldId="reset" submitLabel="Set new password" [confirm]="true"
                           [busy]="resetting.busy()" [error]="resetting.error()" (submitted)="choose($event)" />
      }
      @case ('second-factor') {
        <section aria-labelledby="second-factor-heading">
          <h2 id="second-factor-heading" tabindex="-1">Confirm with your second factor</h2>
          @if (passkeyOffered()) {
            <p>Your account uses two-factor authentication, and so does a new password. Confirm with your passkey,
              or enter the code your authenticator app shows for TwoFA, or a backup code.</p>
          } @else {
            <p>Your account uses two-factor authentication, and so does a new password. Enter the code your
              authenticator app shows for TwoFA, or a backup code.</p>
          }
          <app-second-factor-form fieldId="reset-code" submitLabel="Set new password" [allowBackup]="true"
                                  [passkey]="passkeyOffered()" passkeyLabel="Use a passkey and set the password"
                                  [busy]="resetting.busy()" [error]="resetting.error()" (submitted)="prove($event)"
                                  (passkeyChosen)="proveWithPasskey()" />
          <p class="hint">Lost your phone and every backup code? An administrator must reset two-factor
            authentication for you first.</p>
        </section>
      }
      @case ('done') {
        <section aria-labelledby="done-heading">
          <h2 id="done-heading" tabindex="-1">Your password is changed</h2>
          <p class="notice success">Every session of your account has ended. Sign in with your new password.</p>
          <a class="button" routerLink="/sign-in" [state]="signInState">Sign in</a>
        </section>
      }
      @case ('invalid') {
        <app-link-problem [error]="linkError()">
          <p><a routerLink="/forgot-password">Ask for a new link</a></p>
        </app-link-problem>
      }
    }
  `,
})
export class ResetPasswordPage {
  private readonly api = inject(ApiService);
  private readonly injector = inject(Injector);

  /** Kept in memory only: the address bar no longer has it. */
  private token: string | null = null;
  private newPassword = '';
  protected readonly stage = signal<Stage>('password');
  protected readonly linkError = signal<ApiError | string | null>(null);
  protected readonly resetting = new Submission();
  protected readonly passkeyOffered = signal(false);
  private readonly ceremony = new PrefetchedCeremony(() => this.api.challenge({ resetToken: this.token ?? '' }));
  /** The sign-in page's line; its email field stays blank. */
  protected readonly signInState: SignInState = { notice: 'Your password is changed. Sign in with the new one.' };

  constructor() {
    onLinkToken((token) => {
      this.token = token;
      this.newPassword = '';
      this.resetting.error.set(null);
      this.passkeyOffered.set(false);
      this.linkError.set(token ? null : NO_TOKEN);
      this.stage.set(token ? 'password' : 'invalid');
    });
  }

  protected choose({ newPassword }: PasswordChoice): void {
    this.newPassword = newPassword;
    this.send((token) => this.api.resetPassword(token, this.newPassword));
  }

  protected prove(proof: SecondFactor): void {
    this.send((token) => this.api.resetPassword(token, this.newPassword, proof));
  }

  protected proveWithPasskey(): void {
    this.send((token) =>
      this.ceremony.prove().pipe(switchMap((proof) => this.api.resetPassword(token, this.newPassword, proof))),
    );
  }

  /** Whether the account has a passkey: the challenge for the token says so (its options serve the first try). */
  private askForPasskey(): void {
    const token = this.token;
    if (!token || !passkeysSupported()) return;
    this.api.challenge({ resetToken: token }).subscribe({
      next: (ceremony) => {
        if (token !== this.token) return;
        this.ceremony.set(ceremony);
        this.passkeyOffered.set(true);
      },
      error: () => undefined, // 409 no_passkey: codes only
    });
  }

  /** The reset with the link's token; a 2FA account's answer brings the second-factor step. */
  private send(reset: (token: string) => Observable<unknown>): void {
    if (!this.token) return;
    this.resetting.run(
      reset(this.token),
      () => {
        this.newPassword = '';
        this.moveTo('done', '#done-heading');
      },
      (error) => {
        if (error.code === 'second_factor_required') {
          // Not an error: the question this page asks next.
          this.resetting.error.set(null);
          this.moveTo('second-factor', '#second-factor-heading');
          this.askForPasskey();
        } else if (error.code === 'invalid_token') {
          this.linkError.set(error);
          this.moveTo('invalid', '#link-problem-heading');
        }
      },
    );
  }

  private moveTo(stage: Stage, heading: string): void {
    this.stage.set(stage);
    focusAfterRender(this.injector, heading);
  }
}
