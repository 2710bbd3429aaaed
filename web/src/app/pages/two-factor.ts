import { Component, inject, input, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
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
 * no_passkey` when none), a code or a backup code. With a code or a passkey,
 * "Remember this browser" (unticked at first) lets this browser sign in with
 * the password alone for 30 days; it is not offered with a backup code, which
 * the API refuses it with.
 */
@Component({
  selector: 'app-two-factor',
  imports: [FormsModule, SecondFactorForm, RouterLink],
  template: `
    <h1 tabindex="-1">Two-factor authentication</h1>
    @if (passkeyOffered()) {
      <p>Confirm with your passkey, or open your authenticator app and enter the code it shows for TwoFA.</p>
    } @else {
      <p>Open your authenticator app and enter the code it shows for TwoFA.</p>
    }
    @if (!usingBackup()) {
      <div class="check">
        <input type="checkbox" id="remember-device" name="rememberDevice" aria-describedby="remember-device-hint"
               [ngModel]="remember()" (ngModelChange)="remember.set($event)">
        <label for="remember-device">Remember this browser for 30 days</label>
      </div>
      <p class="hint" id="remember-device-hint">Signing in here then needs only your password. Not on a shared or
        public computer. You can forget it on the security page.</p>
    }
    <app-second-factor-form fieldId="login-code" submitLabel="Verify" [allowBackup]="true" [passkey]="passkeyOffered()"
                            [busy]="verification.busy()" [error]="verification.error()"
                            (submitted)="verify($event)" (passkeyChosen)="verifyWithPasskey()"
                            (backupChosen)="usingBackup.set($event)" />
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
  /** "Remember this browser for 30 days": sent with a code or a passkey, never with a backup code. */
  protected readonly remember = signal(false);
  protected readonly usingBackup = signal(false);
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
    const remember = this.remember() && !('backupCode' in proof);
    this.verification.run(this.api.verifyLogin(proof, remember), () => this.done());
  }

  protected verifyWithPasskey(): void {
    this.verification.run(
      this.ceremony.prove().pipe(switchMap((proof) => this.api.verifyLogin(proof, this.remember()))),
      () => this.done(),
    );
  }

  private done(): void {
    void this.router.navigateByUrl(safeReturnUrl(this.returnUrl()));
  }
}
