import { Component, computed, inject, input, output, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { ApiService } from '../shared/api.service';
import { ErrorMessage } from '../shared/error-message';
import { Submission } from '../shared/submission';

/**
 * "Delete account", the security page's danger zone: what goes, that it
 * cannot be undone, and the account's email typed again as confirmation (the
 * button stays disabled until the typed address, trimmed and lower-cased, is
 * the account's). `POST /auth/account/delete` with it; a proof older than 10
 * minutes brings the re-authentication dialog first. On 200 the API has
 * cleared the cookies: the page goes to sign in.
 */
@Component({
  selector: 'app-delete-account',
  imports: [FormsModule, ErrorMessage],
  template: `
    <section class="danger-zone" aria-labelledby="delete-account-heading">
      <h2 id="delete-account-heading">Delete account</h2>
      <p id="delete-account-warning"><strong>Warning: this cannot be undone.</strong> Deleting your account deletes
        everything in it: your password, your second factors and passkeys, your backup codes, every session (every
        browser and device is signed out), your remembered browsers and your security log. Nobody can restore it.</p>
      <form (ngSubmit)="submit()" novalidate>
        <div class="field">
          <label for="delete-email">Type your email address to confirm</label>
          <p class="hint" id="delete-email-hint">The address you sign in with, as shown under Account. The button
            below works once it matches.</p>
          <input id="delete-email" name="confirmEmail" type="email" autocomplete="off" spellcheck="false"
                 autocapitalize="none" [(ngModel)]="typed" aria-describedby="delete-email-hint delete-account-error">
        </div>
        <app-error id="delete-account-error" [error]="deleting.error()" />
        <button type="submit" class="danger" [disabled]="!matches()"
                [attr.aria-disabled]="deleting.busy() ? true : null"
                aria-describedby="delete-account-warning delete-account-error">
          {{ deleting.busy() ? 'Deleting…' : 'Delete account' }}
        </button>
      </form>
    </section>
  `,
})
export class DeleteAccount {
  private readonly api = inject(ApiService);
  /** The account's address: what must be typed. */
  readonly email = input.required<string>();
  /** The account is gone and this browser signed out: the page goes to sign in. */
  readonly deleted = output<void>();

  protected readonly typed = signal('');
  protected readonly deleting = new Submission();
  /** Emails are compared as the API normalises them: trimmed, lower-cased. */
  protected readonly matches = computed(() => {
    const typed = normalise(this.typed());
    return typed !== '' && typed === normalise(this.email());
  });

  protected submit(): void {
    if (!this.matches() || this.deleting.busy()) return;
    this.deleting.run(this.api.deleteAccount(normalise(this.typed())), () => this.deleted.emit());
  }
}

function normalise(email: string): string {
  return email.trim().toLowerCase();
}
