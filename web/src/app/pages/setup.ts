import { Component, Injector, computed, inject, signal, viewChild } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Router, RouterLink } from '@angular/router';
import { switchMap, tap } from 'rxjs';
import { ApiService, SecondFactor, SetupResult } from '../shared/api.service';
import { BackupCodes } from '../shared/backup-codes';
import { ErrorMessage } from '../shared/error-message';
import { focusAfterRender } from '../shared/focus';
import { FACTOR_NAME_HINT, checkFactorName, groupsOfFour } from '../shared/format';
import { ResendVerification } from '../shared/resend-verification';
import { SecondFactorForm } from '../shared/second-factor-form';
import { Submission } from '../shared/submission';
import { ShowsBackupCodes } from '../shared/unsaved-codes.guard';

/**
 * An authenticator app: the server's QR code and secret, a name and the first
 * code. The first second factor turns 2FA on and shows the backup codes, once;
 * with 2FA on, the app is added beside the others (no new backup codes). An
 * admin without 2FA is sent here at sign-in. Both need a verified email and a
 * recent proof (the re-authentication dialog asks for it when the API says so).
 */
@Component({
  selector: 'app-setup',
  imports: [FormsModule, RouterLink, ErrorMessage, SecondFactorForm, BackupCodes, ResendVerification],
  template: `
    <h1 tabindex="-1">{{ adding() ? 'Add an authenticator app' : 'Turn on two-factor authentication' }}</h1>
    @if (adminMustSetUp()) {
      <p class="notice" id="admin-required">
        Your account is an administrator account, and administrators must use two-factor authentication.
        Set it up now to continue.
      </p>
    }

    @if (step() === 'scan') {
      <section aria-labelledby="scan-heading">
        <h2 id="scan-heading" tabindex="-1">
          {{ adding() ? 'Connect your authenticator app' : 'Step 1 of 2: Connect your authenticator app' }}
        </h2>
        @if (setup(); as setup) {
          <ol class="steps">
            <li>Open an authenticator app (Google Authenticator, 1Password, Authy…) and add an account.</li>
            <li>
              Scan this QR code:
              <img class="qr" [src]="setup.qrCode" width="220" height="220"
                   alt="QR code that adds TwoFA to an authenticator app">
            </li>
            <li>
              Cannot scan it? Enter this key instead (time-based, 6 digits):
              <code class="secret" id="secret">{{ secretGroups() }}</code>
            </li>
            <li>Name it, so you can tell it from others, and enter the code the app shows.</li>
          </ol>
          <div class="field">
            <label for="setup-name">Name (optional)</label>
            <p class="hint" id="setup-name-hint">{{ nameHint }} Without one: “Authenticator app”.</p>
            <input id="setup-name" name="factorName" type="text" autocomplete="off" [(ngModel)]="name"
                   [attr.aria-invalid]="nameError() ? true : null"
                   aria-describedby="setup-name-hint setup-name-error">
            <app-error id="setup-name-error" [error]="nameError()" />
          </div>
          <app-second-factor-form fieldId="setup-code" [submitLabel]="adding() ? 'Add app' : 'Turn on'"
                                  [busy]="enabling.busy()" [error]="enabling.error()" (submitted)="enable($event)" />
          @if (enabling.error()?.code === 'setup_expired') {
            <button type="button" class="secondary" (click)="begin()">Show a new QR code</button>
          }
        } @else if (starting.busy()) {
          <p>Preparing your QR code…</p>
        }
        <app-error id="setup-error" [error]="starting.error()" />
        @if (starting.error(); as error) {
          @if (error.code === 'email_unverified') {
            <p id="setup-needs-email">Two-factor authentication needs a verified email address, so that security
              notices and password resets reach you. Open the link in the mail we sent when you signed up, then
              come back. No mail, or the link expired?</p>
            <app-resend-verification fieldId="setup-resend" (alreadyVerified)="begin()" />
            <p><a routerLink="/security">Back to security</a></p>
          } @else if (error.code === 'twofa_already_enabled' || error.code === 'too_many_factors') {
            <p><a routerLink="/security">Back to security</a></p>
          } @else {
            <button type="button" class="secondary" (click)="begin()">Try again</button>
          }
        }
        @if (!adminMustSetUp() && starting.error()?.code !== 'email_unverified') {
          <p><a routerLink="/security">Cancel</a></p>
        }
      </section>
    } @else {
      <section aria-labelledby="codes-heading">
        <h2 id="codes-heading" tabindex="-1">Step 2 of 2: Save your backup codes</h2>
        <p class="notice success">Two-factor authentication is on.</p>
        <app-backup-codes [codes]="codes()" [email]="api.user()?.email ?? null" (done)="finish()" />
      </section>
    }
  `,
})
export class SetupPage implements ShowsBackupCodes {
  protected readonly api = inject(ApiService);
  private readonly router = inject(Router);
  private readonly injector = inject(Injector);

  protected readonly step = signal<'scan' | 'codes'>('scan');
  protected readonly setup = signal<SetupResult | null>(null);
  protected readonly codes = signal<string[]>([]);
  /** 2FA is on already: this app is one more factor. */
  protected readonly adding = signal(false);
  protected readonly name = signal('');
  protected readonly nameError = signal<string | null>(null);
  protected readonly nameHint = FACTOR_NAME_HINT;
  protected readonly secretGroups = computed(() => groupsOfFour(this.setup()?.secret ?? ''));
  protected readonly adminMustSetUp = computed(() => {
    const user = this.api.user();
    return user?.role === 'admin' && !user.twoFactorEnabled;
  });
  protected readonly starting = new Submission();
  protected readonly enabling = new Submission();
  private readonly backupCodes = viewChild(BackupCodes);

  constructor() {
    this.begin();
  }

  hasUnsavedCodes(): boolean {
    return this.step() === 'codes' && !this.backupCodes()?.saved();
  }

  /** A new pending secret (it replaces an older one) and the user, for the admin's line and first or further. */
  protected begin(): void {
    this.setup.set(null);
    this.enabling.error.set(null);
    this.starting.run(
      this.api.me().pipe(
        tap((user) => this.adding.set(user.twoFactorEnabled)),
        switchMap(() => this.api.startSetup()),
      ),
      (setup) => this.setup.set(setup),
    );
  }

  protected enable(proof: SecondFactor): void {
    if (!('code' in proof)) return;
    const name = checkFactorName(this.name());
    if (name.error) {
      this.nameError.set(name.error);
      document.getElementById('setup-name')?.focus();
      return;
    }
    this.nameError.set(null);
    this.enabling.run(this.api.enable(proof.code, name.value), (result) => {
      if (!result.backupCodes) {
        // One more app: sessions and backup codes stay as they were.
        const added = result.factor?.name ?? name.value ?? 'Authenticator app';
        void this.router.navigate(['/security'], { state: { notice: `Authenticator app “${added}” is added.` } });
        return;
      }
      this.codes.set(result.backupCodes);
      this.step.set('codes');
      focusAfterRender(this.injector, '#codes-heading');
      this.api.me().subscribe({ error: () => undefined }); // the session is aal 2 now
    });
  }

  protected finish(): void {
    void this.router.navigate(['/security'], { state: { notice: 'Two-factor authentication is on.' } });
  }
}
