import { Component, Injector, computed, inject, signal, viewChild } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { switchMap } from 'rxjs';
import { ApiService, SecondFactor, SetupResult } from '../shared/api.service';
import { BackupCodes } from '../shared/backup-codes';
import { ErrorMessage } from '../shared/error-message';
import { focusAfterRender } from '../shared/focus';
import { groupsOfFour } from '../shared/format';
import { SecondFactorForm } from '../shared/second-factor-form';
import { Submission } from '../shared/submission';
import { ShowsBackupCodes } from '../shared/unsaved-codes.guard';

/**
 * Turning 2FA on: the server's QR code and secret, the first code, then the
 * backup codes, shown once. An admin without 2FA is sent here at sign-in.
 */
@Component({
  selector: 'app-setup',
  imports: [RouterLink, ErrorMessage, SecondFactorForm, BackupCodes],
  template: `
    <h1 tabindex="-1">Turn on two-factor authentication</h1>
    @if (adminMustSetUp()) {
      <p class="notice" id="admin-required">
        Your account is an administrator account, and administrators must use two-factor authentication.
        Set it up now to continue.
      </p>
    }

    @if (step() === 'scan') {
      <section aria-labelledby="scan-heading">
        <h2 id="scan-heading" tabindex="-1">Step 1 of 2: Connect your authenticator app</h2>
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
            <li>Enter the code the app shows.</li>
          </ol>
          <app-second-factor-form fieldId="setup-code" submitLabel="Turn on" [busy]="enabling.busy()"
                                  [error]="enabling.error()" (submitted)="enable($event)" />
          @if (enabling.error()?.code === 'setup_expired') {
            <button type="button" class="secondary" (click)="begin()">Show a new QR code</button>
          }
        } @else if (starting.busy()) {
          <p>Preparing your QR code…</p>
        }
        <app-error id="setup-error" [error]="starting.error()" />
        @if (starting.error(); as error) {
          @if (error.code === 'twofa_already_enabled') {
            <p><a routerLink="/security">Back to security</a></p>
          } @else {
            <button type="button" class="secondary" (click)="begin()">Try again</button>
          }
        }
        @if (!adminMustSetUp()) {
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

  /** A new pending secret (it replaces an older one) and the user, for the admin's line. */
  protected begin(): void {
    this.setup.set(null);
    this.enabling.error.set(null);
    this.starting.run(this.api.me().pipe(switchMap(() => this.api.startSetup())), (setup) => {
      this.setup.set(setup);
    });
  }

  protected enable(proof: SecondFactor): void {
    if (!('code' in proof)) return;
    this.enabling.run(this.api.enable(proof.code), (result) => {
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
