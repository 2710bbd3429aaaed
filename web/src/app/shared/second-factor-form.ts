import { Component, ElementRef, effect, input, output, signal, untracked, viewChild } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { ApiError, SecondFactor } from './api.service';
import { ErrorMessage } from './error-message';

/**
 * One field for a 6-digit authenticator code (or, with `allowBackup`, a backup
 * code behind a switch), its error line and a submit button; with `passkey`,
 * a "Use a passkey" button before it, with its own error line. Used wherever
 * the API asks for proof of the second factor: sign-in, setup, new backup
 * codes, turning 2FA off, a password reset, the re-authentication dialog.
 * The API's answer goes to the line of what was tried last.
 */
@Component({
  selector: 'app-second-factor-form',
  imports: [FormsModule, ErrorMessage],
  template: `
    @if (passkey()) {
      <div class="passkey-choice">
        <button #passkeyButton type="button" [attr.aria-disabled]="busy() ? true : null"
                [attr.aria-describedby]="fieldId() + '-passkey-error'" (click)="choosePasskey()">
          {{ busy() && tried() === 'passkey' ? 'Waiting for your passkey…' : passkeyLabel() }}
        </button>
        <app-error [id]="fieldId() + '-passkey-error'" [error]="passkeyError()" />
      </div>
      <p class="or">{{ allowBackup() ? 'Or enter a code from your authenticator app, or a backup code:' : 'Or enter a code from your authenticator app:' }}</p>
    }
    <form (ngSubmit)="submit()" novalidate>
      @if (allowBackup()) {
        <div class="check">
          <input type="checkbox" role="switch" [id]="fieldId() + '-use-backup'" name="useBackup"
                 [ngModel]="useBackup()" (ngModelChange)="switchKind($event)">
          <label [for]="fieldId() + '-use-backup'">Use a backup code</label>
        </div>
      }
      <div class="field">
        @if (useBackup()) {
          <label [for]="fieldId()">Backup code</label>
          <p class="hint" [id]="fieldId() + '-hint'">One of the codes you saved, like abcde-fghij. Each works once.</p>
          <input #field [id]="fieldId()" name="backupCode" type="text" autocomplete="off" autocapitalize="none"
                 spellcheck="false" [(ngModel)]="value" [attr.aria-invalid]="shownError() ? true : null"
                 [attr.aria-describedby]="fieldId() + '-hint ' + fieldId() + '-error'">
        } @else {
          <label [for]="fieldId()">Code from your authenticator app</label>
          <p class="hint" [id]="fieldId() + '-hint'">The 6 digits your app shows now.</p>
          <input #field [id]="fieldId()" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                 spellcheck="false" [(ngModel)]="value" [attr.aria-invalid]="shownError() ? true : null"
                 [attr.aria-describedby]="fieldId() + '-hint ' + fieldId() + '-error'">
        }
        <app-error [id]="fieldId() + '-error'" [error]="shownError()" />
      </div>
      <button type="submit" [class.danger]="danger()" [attr.aria-disabled]="busy() ? true : null">
        {{ busy() && tried() === 'code' ? 'Checking…' : submitLabel() }}
      </button>
    </form>
  `,
})
export class SecondFactorForm {
  readonly fieldId = input.required<string>();
  readonly submitLabel = input('Verify');
  readonly allowBackup = input(false);
  readonly busy = input(false);
  readonly danger = input(false);
  /** The API's answer to the last attempt. */
  readonly error = input<ApiError | string | null>(null);
  /** Offer "Use a passkey" (the user has one and the browser can use it). */
  readonly passkey = input(false);
  readonly passkeyLabel = input('Use a passkey');
  readonly submitted = output<SecondFactor>();
  /** "Use a passkey" was pressed: the page asks for a challenge and the browser's assertion. */
  readonly passkeyChosen = output<void>();
  /** The backup-code switch changed: true while a backup code is asked for. */
  readonly backupChosen = output<boolean>();

  protected readonly useBackup = signal(false);
  protected readonly value = signal('');
  protected readonly shownError = signal<ApiError | string | null>(null);
  protected readonly passkeyError = signal<ApiError | string | null>(null);
  /** What the last try was: its answer goes to that line. */
  protected readonly tried = signal<'code' | 'passkey'>('code');
  private readonly field = viewChild<ElementRef<HTMLInputElement>>('field');
  private readonly passkeyButton = viewChild<ElementRef<HTMLButtonElement>>('passkeyButton');

  constructor() {
    // An error from the API replaces the field's own; the field gets the focus
    // with its text selected, ready for the next try (or the passkey button
    // keeps it, when the passkey was tried).
    effect(() => {
      const error = this.error();
      if (untracked(this.tried) === 'passkey') {
        this.passkeyError.set(error);
        this.shownError.set(null);
        if (error) untracked(() => this.passkeyButton()?.nativeElement.focus());
      } else {
        this.shownError.set(error);
        this.passkeyError.set(null);
        if (error) untracked(() => this.focusField());
      }
    });
  }

  protected choosePasskey(): void {
    if (this.busy()) return;
    this.tried.set('passkey');
    this.shownError.set(null);
    this.passkeyError.set(null);
    this.passkeyChosen.emit();
  }

  /** Empties the field (after a success, when the form stays on the page). */
  clear(): void {
    this.value.set('');
  }

  protected switchKind(backup: boolean): void {
    this.useBackup.set(backup);
    this.backupChosen.emit(backup);
    this.value.set('');
    this.shownError.set(null);
  }

  protected submit(): void {
    if (this.busy()) return;
    this.tried.set('code');
    this.passkeyError.set(null);
    // Pasted codes often come with spaces ("123 456"); backup codes with a dash.
    const typed = this.value().replace(/\s+/g, '');
    let proof: SecondFactor | null = null;
    if (this.useBackup()) {
      const plain = typed.replace(/-/g, '').toLowerCase();
      if (/^[a-z2-7]{10}$/.test(plain)) proof = { backupCode: `${plain.slice(0, 5)}-${plain.slice(5)}` };
    } else if (/^\d{6}$/.test(typed)) {
      proof = { code: typed };
    }
    if (!proof) {
      this.shownError.set(
        this.useBackup()
          ? 'Enter a backup code: 10 letters and digits, like abcde-fghij.'
          : 'Enter the 6 digits your authenticator app shows.',
      );
      this.focusField();
      return;
    }
    this.shownError.set(null);
    this.submitted.emit(proof);
  }

  private focusField(): void {
    const input = this.field()?.nativeElement;
    input?.focus();
    input?.select();
  }
}
