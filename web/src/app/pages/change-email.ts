import { Component, ElementRef, computed, inject, input, signal, viewChild } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { ApiError, ApiService } from '../shared/api.service';
import { ErrorMessage } from '../shared/error-message';
import { Submission } from '../shared/submission';

/** The API's refusals that are about the address typed (next to the field); others go under the form. */
const FIELD_ERRORS = ['email_taken', 'invalid_request'];

/**
 * "Change email address" on the security page: `POST /auth/email/change`
 * sends a confirmation link to the new address (202); the address changes
 * only when that link is opened (the verify-email page), and then every
 * session ends. A proof older than 10 minutes brings the re-authentication
 * dialog (the session interceptor), and the request is sent again.
 */
@Component({
  selector: 'app-change-email',
  imports: [FormsModule, ErrorMessage],
  template: `
    <section aria-labelledby="change-email-heading">
      <h2 id="change-email-heading">Change email address</h2>
      <p>We send a link to the new address. Your address changes only when you open it; then every browser and
        device is signed out, this one included, and you sign in with the new address.</p>
      <form (ngSubmit)="submit()" novalidate>
        <div class="field">
          <label for="new-email">New email address</label>
          <input #field id="new-email" name="newEmail" type="email" autocomplete="email" spellcheck="false"
                 autocapitalize="none" [(ngModel)]="newEmail" [attr.aria-invalid]="fieldError() ? true : null"
                 aria-describedby="new-email-error">
          <app-error id="new-email-error" [error]="fieldError()" />
        </div>
        <app-error id="change-email-error" [error]="otherError()" />
        <button type="submit" [attr.aria-disabled]="changing.busy() ? true : null" aria-describedby="change-email-error">
          {{ changing.busy() ? 'Sending…' : 'Send confirmation link' }}
        </button>
      </form>
      <p class="status" role="status" id="change-email-status">{{ sent() }}</p>
    </section>
  `,
})
export class ChangeEmail {
  private readonly api = inject(ApiService);
  /** The account's address now: the same one again is refused here. */
  readonly currentEmail = input.required<string>();

  protected readonly newEmail = signal('');
  protected readonly sent = signal('');
  protected readonly changing = new Submission();
  private readonly localError = signal<string | null>(null);
  protected readonly fieldError = computed<ApiError | string | null>(() => {
    const error = this.changing.error();
    return this.localError() ?? (error && FIELD_ERRORS.includes(error.code) ? error : null);
  });
  protected readonly otherError = computed(() => {
    const error = this.changing.error();
    return !this.localError() && error && !FIELD_ERRORS.includes(error.code) ? error : null;
  });
  private readonly field = viewChild.required<ElementRef<HTMLInputElement>>('field');

  protected submit(): void {
    if (this.changing.busy()) return;
    const email = this.newEmail().trim();
    this.sent.set('');
    this.changing.error.set(null);
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      this.fail('Enter the new address, like name@example.com.');
      return;
    }
    if (email.toLowerCase() === this.currentEmail().trim().toLowerCase()) {
      this.fail('That is your address already. Enter the new one.');
      return;
    }
    this.localError.set(null);
    this.changing.run(
      this.api.changeEmail(email),
      () => {
        this.newEmail.set('');
        // The API lower-cases addresses: the mail goes to this one.
        this.sent.set(`We sent a confirmation link to ${email.toLowerCase()}; your address changes when you open it.`);
      },
      (error) => {
        if (FIELD_ERRORS.includes(error.code)) this.focusField();
      },
    );
  }

  private fail(text: string): void {
    this.localError.set(text);
    this.focusField();
  }

  private focusField(): void {
    const input = this.field().nativeElement;
    input.focus();
    input.select();
  }
}
