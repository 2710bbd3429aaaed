import { Component, inject, input } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { ApiService } from '../shared/api.service';
import { CredentialsForm, Credentials } from '../shared/credentials-form';
import { safeReturnUrl } from '../shared/format';
import { Submission } from '../shared/submission';

/** What another page may hand to the sign-in page. */
export interface SignInState {
  notice?: string;
  email?: string;
}

@Component({
  selector: 'app-sign-in',
  imports: [CredentialsForm, RouterLink],
  template: `
    <h1 tabindex="-1">Sign in</h1>
    @if (state.notice) {
      <p class="notice success">{{ state.notice }}</p>
    } @else if (reason() === 'signed-out') {
      <p class="notice">Your session has ended. Sign in to continue.</p>
    }
    <app-credentials-form submitLabel="Sign in" [initialEmail]="state.email ?? ''"
                          [busy]="login.busy()" [error]="login.error()" (submitted)="signIn($event)" />
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

  protected signIn({ email, password }: Credentials): void {
    this.login.run(this.api.login(email, password), (result) => {
      if (result.requires2FA) {
        void this.router.navigate(['/sign-in/2fa'], { queryParams: { returnUrl: this.returnUrl() } });
      } else if (result.requires2FASetup) {
        void this.router.navigate(['/security/setup']);
      } else {
        void this.router.navigateByUrl(safeReturnUrl(this.returnUrl()));
      }
    });
  }
}
