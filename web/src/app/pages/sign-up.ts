import { Component, inject } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { ApiService } from '../shared/api.service';
import { CredentialsForm, Credentials } from '../shared/credentials-form';
import { Submission } from '../shared/submission';
import { SignInState } from './sign-in';

@Component({
  selector: 'app-sign-up',
  imports: [CredentialsForm, RouterLink],
  template: `
    <h1 tabindex="-1">Create an account</h1>
    <app-credentials-form submitLabel="Create account" [newPassword]="true"
                          [busy]="registration.busy()" [error]="registration.error()" (submitted)="signUp($event)" />
    <p>Already have an account? <a routerLink="/sign-in">Sign in</a></p>
  `,
})
export class SignUpPage {
  private readonly api = inject(ApiService);
  private readonly router = inject(Router);
  protected readonly registration = new Submission();

  protected signUp({ email, password }: Credentials): void {
    // The API opens no session at registration: the user signs in next, which
    // also lets a password manager save the new password.
    this.registration.run(this.api.register(email, password), (account) => {
      const state: SignInState = {
        notice: 'Your account is ready. Sign in with your new password.',
        email: account.email,
      };
      void this.router.navigate(['/sign-in'], { state });
    });
  }
}
