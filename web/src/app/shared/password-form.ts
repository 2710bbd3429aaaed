import { Component, ElementRef, computed, effect, input, output, signal, viewChild } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { ApiError } from './api.service';
import { ErrorMessage } from './error-message';

/** What the form hands over: the new password and, when asked for, the current one. */
export interface PasswordChoice {
  currentPassword: string;
  newPassword: string;
}

type Field = 'current' | 'new' | 'confirm';

/** What a new password field says (sign-up too). */
export const NEW_PASSWORD_HINT = '8 to 128 characters. A few unrelated words make a strong one.';

/** The API's limits (API.md): 8 to 128 Unicode scalar values, never trimmed. */
const MIN_LENGTH = 8;
const MAX_LENGTH = 128;

/**
 * A new password (typed twice when `confirm`) and, with `askCurrent`, the
 * current one first: the reset page and the security page's change. Each
 * error is next to its field; the API's `invalid_credentials` is the current
 * password's, its `invalid_request` the one password it checked and this form
 * did not (with `askCurrent` the new one is checked here, so the current one).
 */
@Component({
  selector: 'app-password-form',
  imports: [FormsModule, ErrorMessage],
  template: `
    <form (ngSubmit)="submit()" novalidate>
      @if (askCurrent()) {
        <div class="field">
          <label [for]="fieldId() + '-current'">Current password</label>
          <input #currentField [id]="fieldId() + '-current'" name="currentPassword" type="password"
                 autocomplete="current-password" [(ngModel)]="currentPassword"
                 [attr.aria-invalid]="errorOf('current') ? true : null"
                 [attr.aria-describedby]="fieldId() + '-current-error'">
          <app-error [id]="fieldId() + '-current-error'" [error]="errorOf('current')" />
        </div>
      }
      <div class="field">
        <label [for]="fieldId() + '-new'">New password</label>
        <p class="hint" [id]="fieldId() + '-hint'">{{ hint }}</p>
        <input #newField [id]="fieldId() + '-new'" name="newPassword" type="password" autocomplete="new-password"
               [(ngModel)]="newPassword" [attr.aria-invalid]="errorOf('new') ? true : null"
               [attr.aria-describedby]="fieldId() + '-hint ' + fieldId() + '-new-error'">
        <app-error [id]="fieldId() + '-new-error'" [error]="errorOf('new')" />
      </div>
      @if (confirm()) {
        <div class="field">
          <label [for]="fieldId() + '-confirm'">New password again</label>
          <input #confirmField [id]="fieldId() + '-confirm'" name="confirmPassword" type="password"
                 autocomplete="new-password" [(ngModel)]="confirmPassword"
                 [attr.aria-invalid]="errorOf('confirm') ? true : null"
                 [attr.aria-describedby]="fieldId() + '-confirm-error'">
          <app-error [id]="fieldId() + '-confirm-error'" [error]="errorOf('confirm')" />
        </div>
      }
      <app-error [id]="fieldId() + '-error'" [error]="otherError()" />
      <button type="submit" [attr.aria-disabled]="busy() ? true : null">{{ busy() ? 'Please wait…' : submitLabel() }}</button>
    </form>
  `,
})
export class PasswordForm {
  /** Prefix of the fields' ids (unique in the page). */
  readonly fieldId = input.required<string>();
  readonly submitLabel = input.required<string>();
  readonly askCurrent = input(false);
  readonly confirm = input(false);
  readonly busy = input(false);
  /** The API's answer to the last attempt. */
  readonly error = input<ApiError | null>(null);
  readonly submitted = output<PasswordChoice>();

  protected readonly hint = NEW_PASSWORD_HINT;
  protected readonly currentPassword = signal('');
  protected readonly newPassword = signal('');
  protected readonly confirmPassword = signal('');
  private readonly localError = signal<{ field: Field; text: string } | null>(null);
  protected readonly otherError = computed(() => (this.localError() || this.apiField() ? null : this.error()));

  private readonly currentField = viewChild<ElementRef<HTMLInputElement>>('currentField');
  private readonly newField = viewChild<ElementRef<HTMLInputElement>>('newField');
  private readonly confirmField = viewChild<ElementRef<HTMLInputElement>>('confirmField');

  constructor() {
    effect(() => {
      const field = this.apiField();
      if (field) this.focus(field);
    });
  }

  /** Empties every field (after a success, when the form stays on the page). */
  clear(): void {
    this.currentPassword.set('');
    this.newPassword.set('');
    this.confirmPassword.set('');
  }

  protected errorOf(field: Field): ApiError | string | null {
    const local = this.localError();
    if (local) return local.field === field ? local.text : null;
    return this.apiField() === field ? this.error() : null;
  }

  protected submit(): void {
    if (this.busy()) return;
    const length = [...this.newPassword()].length;
    if (this.askCurrent() && this.currentPassword().length === 0) {
      this.fail('current', 'Enter your current password.');
    } else if (length < MIN_LENGTH) {
      this.fail('new', `Choose a password of at least ${MIN_LENGTH} characters.`);
    } else if (length > MAX_LENGTH) {
      this.fail('new', `Choose a password of at most ${MAX_LENGTH} characters.`);
    } else if (this.confirm() && this.confirmPassword() !== this.newPassword()) {
      this.fail('confirm', 'The two new passwords differ. Type the same password twice.');
    } else {
      this.localError.set(null);
      this.submitted.emit({ currentPassword: this.currentPassword(), newPassword: this.newPassword() });
    }
  }

  private apiField(): Field | null {
    const error = this.error();
    if (error?.code === 'invalid_credentials') return 'current';
    if (error?.code === 'invalid_request' && /password/i.test(error.message)) {
      return this.askCurrent() ? 'current' : 'new';
    }
    return null;
  }

  private fail(field: Field, text: string): void {
    this.localError.set({ field, text });
    this.focus(field);
  }

  private focus(field: Field): void {
    const ref = field === 'current' ? this.currentField : field === 'new' ? this.newField : this.confirmField;
    const input = ref()?.nativeElement;
    input?.focus();
    input?.select();
  }
}
