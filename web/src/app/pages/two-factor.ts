import { Component, inject, input, signal } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { switchMap } from 'rxjs';
import { ApiService, SecondFactor } from '../shared/api.service';
import { safeReturnUrl } from '../shared/format';
import { PrefetchedCeremony, passkeysSupported } from '../shared/passkeys';
import { SecondFactorForm } from '../shared/second-factor-form';
import { Submission } from '../shared/submission';

/**
 * After the password, when the account has 2FA on: a passkey (offered when the
 * user has one: the challenge for the pre-2FA cookie answers 200, `409
 * no_passkey` when none), a code or a backup code.
 */
@Component({
  selector: 'app-two-factor',
  imports: [SecondFactorForm, RouterLink],
  template: `
    <h1 tabindex="-1">Two-factor authentication</h1>
    @if (passkeyOffered()) {
      <p>Confirm with your passkey, or open your authenticator app and enter the code it shows for TwoFA.</p>
    } @else {
      <p>Open your authenticator app and enter the code it shows for TwoFA.</p>
    }
    <app-second-factor-form fieldId="login-code" submitLabel="Verify" [allowBackup]="true" [passkey]="passkeyOffered()"
                            [busy]="verification.busy()" [error]="verification.error()"
                            (submitted)="verify($event)" (passkeyChosen)="verifyWithPasskey()" />
    @if (verification.error()?.code === 'session_expired') {
      <p><a routerLink="/sign-in">Sign in again</a></p>
    }
    <p class="hint">Lost your phone and every backup code? An administrator can reset two-factor authentication for you.</p>
  `,
})
export class TwoFactorPage {
  private readonly api = inject(ApiService);
  private readonly router = inject(Router);
  readonly returnUrl = input<string>();
  protected readonly verification = new Submission();
  protected readonly passkeyOffered = signal(false);
  private readonly ceremony = new PrefetchedCeremony(() => this.api.challenge({ forLogin: true }));

  constructor() {
    // Whether the user has a passkey: the challenge says so (and its options serve the first try).
    if (passkeysSupported()) {
      this.api.challenge({ forLogin: true }).subscribe({
        next: (ceremony) => {
          this.ceremony.set(ceremony);
          this.passkeyOffered.set(true);
        },
        error: () => undefined, // 409 no_passkey: none; 401: the code field says so at the first try
      });
    }
  }

  protected verify(proof: SecondFactor): void {
    this.verification.run(this.api.verifyLogin(proof), () => this.done());
  }

  protected verifyWithPasskey(): void {
    this.verification.run(
      this.ceremony.prove().pipe(switchMap((proof) => this.api.verifyLogin(proof))),
      () => this.done(),
    );
  }

  private done(): void {
    void this.router.navigateByUrl(safeReturnUrl(this.returnUrl()));
  }
}
