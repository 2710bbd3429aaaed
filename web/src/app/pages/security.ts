import { Component, Injector, inject, signal, viewChild } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { forkJoin, switchMap } from 'rxjs';
import { ApiService, SecondFactor, TwoFactorStatus } from '../shared/api.service';
import { BackupCodes } from '../shared/backup-codes';
import { ErrorMessage } from '../shared/error-message';
import { focusAfterRender } from '../shared/focus';
import { formatWhen } from '../shared/format';
import { PasswordChoice, PasswordForm } from '../shared/password-form';
import { ResendVerification } from '../shared/resend-verification';
import { SecondFactorForm } from '../shared/second-factor-form';
import { Submission } from '../shared/submission';
import { ShowsBackupCodes } from '../shared/unsaved-codes.guard';
import { SignInState } from './sign-in';

type Panel = 'none' | 'regenerate' | 'codes' | 'disable';

/** The user, 2FA status and its actions, and signing out. */
@Component({
  selector: 'app-security',
  imports: [RouterLink, ErrorMessage, SecondFactorForm, BackupCodes, PasswordForm, ResendVerification],
  template: `
    <h1 tabindex="-1">Security</h1>
    <p class="status" role="status">{{ notice() }}</p>
    <app-error id="load-error" [error]="loading.error()" />
    @if (loading.error()) {
      <button type="button" class="secondary" (click)="load()">Try again</button>
    }

    @if (api.user(); as user) {
      <section aria-labelledby="account-heading">
        <h2 id="account-heading">Account</h2>
        <dl>
          <dt>Email</dt>
          <dd>{{ user.email }}</dd>
          <dt>Email status</dt>
          @if (user.emailVerified) {
            <dd class="state on" id="email-state"><strong>Verified</strong></dd>
          } @else {
            <dd class="state off" id="email-state"><strong>Not verified</strong></dd>
          }
          <dt>Role</dt>
          <dd>{{ user.role === 'admin' ? 'Administrator' : 'User' }}</dd>
          <dt>This session</dt>
          <dd>{{ user.aal === 2 ? 'Signed in with password and second factor' : 'Signed in with password only' }}</dd>
        </dl>
        @if (!user.emailVerified) {
          <p>Open the link in the mail we sent when you signed up: security notices and password reset links
            go to a verified address. No mail, or the link expired?</p>
          <app-resend-verification fieldId="security-resend" (alreadyVerified)="load()" />
        }
      </section>
    }

    @if (status(); as status) {
      <section aria-labelledby="twofa-heading">
        <h2 id="twofa-heading" tabindex="-1">Two-factor authentication</h2>
        @if (status.enabled) {
          <p class="state on"><strong>On</strong> since {{ when(status.enabledAt) }}.</p>
          <p [class.warning]="(status.backupCodesRemaining ?? 0) <= 3">
            {{ status.backupCodesRemaining }} of 10 backup codes left.
          </p>
          @switch (panel()) {
            @case ('regenerate') {
              <h3 id="panel-heading" tabindex="-1">Create new backup codes</h3>
              <p>Your current backup codes stop working. Confirm with a code from your authenticator app.</p>
              <app-second-factor-form fieldId="regenerate-code" submitLabel="Create new backup codes"
                                      [busy]="regenerating.busy()" [error]="regenerating.error()"
                                      (submitted)="regenerate($event)" />
              <button type="button" class="link" (click)="open('none')">Cancel</button>
            }
            @case ('codes') {
              <h3 id="panel-heading" tabindex="-1">Your new backup codes</h3>
              <app-backup-codes [codes]="newCodes()" [email]="api.user()?.email ?? null" (done)="codesSaved()" />
            }
            @case ('disable') {
              <h3 id="panel-heading" tabindex="-1">Turn off two-factor authentication</h3>
              <p>Your account will be protected by your password alone. Confirm with a code from your
                authenticator app or a backup code.</p>
              <app-second-factor-form fieldId="disable-code" submitLabel="Turn off" [allowBackup]="true" [danger]="true"
                                      [busy]="disabling.busy()" [error]="disabling.error()" (submitted)="disable($event)" />
              <button type="button" class="link" (click)="open('none')">Cancel</button>
            }
            @default {
              <div class="actions">
                <button type="button" class="secondary" (click)="open('regenerate')">Create new backup codes</button>
                @if (api.user()?.role !== 'admin') {
                  <button type="button" class="secondary danger" (click)="open('disable')">Turn off two-factor authentication</button>
                }
              </div>
              @if (api.user()?.role === 'admin') {
                <p class="hint">Administrators must keep two-factor authentication on.</p>
              }
            }
          }
        } @else {
          <p class="state off"><strong>Off.</strong> Your account is protected by your password alone.</p>
          <a class="button" routerLink="/security/setup">Turn on two-factor authentication</a>
        }
      </section>
    }

    <section aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      <p>You stay signed in here; every other browser and device is signed out.</p>
      <app-password-form fieldId="change" submitLabel="Change password" [askCurrent]="true"
                         [busy]="changing.busy()" [error]="changing.error()" (submitted)="changePassword($event)" />
      <p class="status" role="status" id="password-status">{{ passwordChanged() }}</p>
    </section>

    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      <p>Sign out of this browser, or of every browser and device where you are signed in, this one included.</p>
      <div class="actions">
        <button type="button" class="secondary" (click)="signOut()">Sign out</button>
        <button type="button" class="secondary" (click)="signOutEverywhere()">Sign out everywhere</button>
      </div>
      <app-error id="sessions-error" [error]="signingOut.error()" />
    </section>

    <p><a routerLink="/security/log">Security log: recent sign-ins and changes</a></p>
  `,
})
export class SecurityPage implements ShowsBackupCodes {
  protected readonly api = inject(ApiService);
  private readonly router = inject(Router);
  private readonly injector = inject(Injector);

  protected readonly status = signal<TwoFactorStatus | null>(null);
  protected readonly panel = signal<Panel>('none');
  protected readonly newCodes = signal<string[]>([]);
  protected readonly notice = signal<string>(this.router.currentNavigation()?.extras.state?.['notice'] ?? '');
  protected readonly loading = new Submission();
  protected readonly regenerating = new Submission();
  protected readonly disabling = new Submission();
  protected readonly signingOut = new Submission();
  protected readonly changing = new Submission();
  protected readonly passwordChanged = signal('');
  private readonly backupCodes = viewChild(BackupCodes);
  private readonly passwordForm = viewChild.required(PasswordForm);
  protected readonly when = (iso: string | null) => (iso ? formatWhen(iso) : 'an unknown date');

  constructor() {
    this.load();
  }

  hasUnsavedCodes(): boolean {
    return this.panel() === 'codes' && !this.backupCodes()?.saved();
  }

  /** The user and the 2FA status at once (two 401s share one refresh). */
  protected load(): void {
    this.loading.run(forkJoin([this.api.me(), this.api.twoFactorStatus()]), ([, status]) => this.status.set(status));
  }

  protected open(panel: Panel): void {
    this.panel.set(panel);
    this.notice.set('');
    focusAfterRender(this.injector, panel === 'none' ? '#twofa-heading' : '#panel-heading');
  }

  protected regenerate(proof: SecondFactor): void {
    if (!('code' in proof)) return;
    this.regenerating.run(this.api.regenerateBackupCodes(proof.code), (result) => {
      this.newCodes.set(result.backupCodes);
      this.open('codes');
    });
  }

  protected codesSaved(): void {
    this.newCodes.set([]);
    this.reloadAfter('New backup codes are ready; the old ones no longer work.');
  }

  protected disable(proof: SecondFactor): void {
    // The API answers with fresh cookies for this session (aal 1): read the user again.
    this.disabling.run(this.api.disable(proof), () => this.reloadAfter('Two-factor authentication is off.'));
  }

  /** The API answers with fresh cookies for this session: the user stays signed in here. */
  protected changePassword({ currentPassword, newPassword }: PasswordChoice): void {
    this.passwordChanged.set('');
    this.changing.run(this.api.changePassword(currentPassword, newPassword), () => {
      this.passwordForm().clear();
      this.passwordChanged.set('Your password is changed. Every other session has ended.');
    });
  }

  protected signOut(): void {
    this.signingOut.run(this.api.logout(), () => this.toSignIn('You are signed out.'));
  }

  protected signOutEverywhere(): void {
    // logout-all ends every session; logout then clears this browser's cookies.
    this.signingOut.run(
      this.api.logoutAll().pipe(switchMap(() => this.api.logout())),
      () => this.toSignIn('You are signed out on every device.'),
    );
  }

  private reloadAfter(notice: string): void {
    this.panel.set('none');
    this.load();
    this.notice.set(notice);
    focusAfterRender(this.injector, '#twofa-heading');
  }

  private toSignIn(notice: string): void {
    const state: SignInState = { notice };
    void this.router.navigate(['/sign-in'], { state });
  }
}
