import { Component, inject, input } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { ApiService, SecondFactor } from '../shared/api.service';
import { safeReturnUrl } from '../shared/format';
import { SecondFactorForm } from '../shared/second-factor-form';
import { Submission } from '../shared/submission';

/** After the password, when the account has 2FA on: a code or a backup code. */
@Component({
  selector: 'app-two-factor',
  imports: [SecondFactorForm, RouterLink],
  template: `
    <h1 tabindex="-1">Two-factor authentication</h1>
    <p>Open your authenticator app and enter the code it shows for TwoFA.</p>
    <app-second-factor-form fieldId="login-code" submitLabel="Verify" [allowBackup]="true"
                            [busy]="verification.busy()" [error]="verification.error()" (submitted)="verify($event)" />
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

  protected verify(proof: SecondFactor): void {
    this.verification.run(this.api.verifyLogin(proof), () => {
      void this.router.navigateByUrl(safeReturnUrl(this.returnUrl()));
    });
  }
}
