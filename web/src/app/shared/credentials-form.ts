import { Component, ElementRef, computed, effect, input, output, signal, viewChild } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { ApiError } from './api.service';
import { ErrorMessage } from './error-message';
import { NEW_PASSWORD_HINT } from './password-form';

export interface Credentials {
  email: string;
  password: string;
}

/** Which field an API error belongs to: the contract has no field name, so its code (or wording) tells. */
function fieldOf(error: ApiError | null): 'email' | 'password' | null {
  if (!error) return null;
  if (error.code === 'email_taken') return 'email';
  if (error.code === 'invalid_credentials') return 'password';
  if (error.code === 'invalid_request') return /password/i.test(error.message) ? 'password' : 'email';
  return null;
}

/** Email and password, for both sign-in and sign-up (email only: forgot password); each error next to its field. */
@Component({
  selector: 'app-credentials-form',
  imports: [FormsModule, ErrorMessage],
  template: `
    <form (ngSubmit)="submit()" novalidate>
      <div class="field">
        <label for="email">Email</label>
        <input #emailField id="email" name="email" type="email" spellcheck="false"
               [attr.autocomplete]="passkeyAutofill() ? 'username webauthn' : 'username'"
               autocapitalize="none" [(ngModel)]="email" [attr.aria-invalid]="emailError() ? true : null"
               aria-describedby="email-error">
        <app-error id="email-error" [error]="emailError()" />
      </div>
      @if (askPassword()) {
        <div class="field">
          <label for="password">Password</label>
          @if (newPassword()) {
            <p class="hint" id="password-hint">{{ hint }}</p>
          }
          <input #passwordField id="password" name="password" type="password" [(ngModel)]="password"
                 [attr.autocomplete]="newPassword() ? 'new-password' : 'current-password'"
                 [attr.aria-invalid]="passwordError() ? true : null"
                 [attr.aria-describedby]="newPassword() ? 'password-hint password-error' : 'password-error'">
          <app-error id="password-error" [error]="passwordError()" />
        </div>
      }
      <app-error id="form-error" [error]="otherError()" />
      <button type="submit" [attr.aria-disabled]="busy() ? true : null">{{ busy() ? 'Please wait…' : submitLabel() }}</button>
    </form>
  `,
})
export class CredentialsForm {
  readonly submitLabel = input.required<string>();
  /** Sign-up: a new password (hint and autocomplete="new-password"). */
  readonly newPassword = input(false);
  /** False: the email alone (forgot password). */
  readonly askPassword = input(true);
  readonly initialEmail = input('');
  /** Sign-in: the field's autofill also offers this site's passkeys (`autocomplete="username webauthn"`). */
  readonly passkeyAutofill = input(false);
  readonly busy = input(false);
  readonly error = input<ApiError | null>(null);
  readonly submitted = output<Credentials>();

  protected readonly hint = NEW_PASSWORD_HINT;
  protected readonly email = signal('');
  protected readonly password = signal('');
  private readonly localError = signal<{ field: 'email' | 'password'; text: string } | null>(null);

  protected readonly emailError = computed(() => this.errorFor('email'));
  protected readonly passwordError = computed(() => this.errorFor('password'));
  protected readonly otherError = computed(() => (this.localError() || fieldOf(this.error()) ? null : this.error()));

  private readonly emailField = viewChild.required<ElementRef<HTMLInputElement>>('emailField');
  private readonly passwordField = viewChild<ElementRef<HTMLInputElement>>('passwordField');

  constructor() {
    effect(() => {
      const initial = this.initialEmail();
      if (initial) this.email.set(initial);
    });
    effect(() => {
      const field = fieldOf(this.error());
      if (field) this.focus(field);
    });
  }

  protected submit(): void {
    if (this.busy()) return;
    const email = this.email().trim();
    const password = this.password();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      this.fail('email', 'Enter your email address, like name@example.com.');
    } else if (this.askPassword() && password.length === 0) {
      this.fail('password', 'Enter your password.');
    } else if (this.newPassword() && [...password].length < 8) {
      this.fail('password', 'Choose a password of at least 8 characters.');
    } else {
      this.localError.set(null);
      this.submitted.emit({ email, password });
    }
  }

  private errorFor(field: 'email' | 'password'): ApiError | string | null {
    const local = this.localError();
    if (local) return local.field === field ? local.text : null;
    return fieldOf(this.error()) === field ? this.error() : null;
  }

  private fail(field: 'email' | 'password', text: string): void {
    this.localError.set({ field, text });
    this.focus(field);
  }

  private focus(field: 'email' | 'password'): void {
    (field === 'email' ? this.emailField() : this.passwordField())?.nativeElement.focus();
  }
}
