import { Component, Injector, computed, inject, signal, viewChild } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Router, RouterLink } from '@angular/router';
import { Observable, forkJoin, switchMap } from 'rxjs';
import { ApiError, ApiService, Factor, PasskeyProof, SecondFactor, Session, TwoFactorStatus } from '../shared/api.service';
import { BackupCodes } from '../shared/backup-codes';
import { ErrorMessage } from '../shared/error-message';
import { focusAfterRender } from '../shared/focus';
import { FACTOR_NAME_HINT, checkFactorName, formatWhen } from '../shared/format';
import { createPasskey, passkeysSupported, provePasskey } from '../shared/passkeys';
import { PasswordChoice, PasswordForm } from '../shared/password-form';
import { ResendVerification } from '../shared/resend-verification';
import { SecondFactorForm } from '../shared/second-factor-form';
import { Submission } from '../shared/submission';
import { ShowsBackupCodes } from '../shared/unsaved-codes.guard';
import { ChangeEmail } from './change-email';
import { DeleteAccount } from './delete-account';
import { SessionsDevices } from './sessions-devices';
import { SignInState } from './sign-in';

type Panel = 'none' | 'regenerate' | 'codes' | 'disable' | 'passkey' | 'rename' | 'remove';

/** An account has at most this many second factors (API.md "Second factors"). */
const MAX_FACTORS = 5;

/**
 * The user, 2FA and its factors (apps and passkeys) with their actions, the
 * password, the email address, sessions and remembered browsers, signing out,
 * and deleting the account.
 */
@Component({
  selector: 'app-security',
  imports: [
    FormsModule,
    RouterLink,
    ErrorMessage,
    SecondFactorForm,
    BackupCodes,
    PasswordForm,
    ResendVerification,
    SessionsDevices,
    ChangeEmail,
    DeleteAccount,
  ],
  template: `
    <h1 tabindex="-1">Security</h1>
    <p class="status" role="status" id="security-notice">{{ notice() }}</p>
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
          <dd>{{ sessionSummary() }}</dd>
        </dl>
        @if (!user.emailVerified) {
          @if (status()?.enabled) {
            <p>Open the link in the mail we sent when you signed up: security notices and password reset links
              go to a verified address. No mail, or the link expired?</p>
            <app-resend-verification fieldId="security-resend" (alreadyVerified)="load()" />
          } @else {
            <p>Open the link in the mail we sent when you signed up: security notices and password reset links
              go to a verified address, and two-factor authentication needs one (below).</p>
          }
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
          <div class="table-wrap" tabindex="0" role="region" aria-labelledby="factors-caption">
            <table class="factors">
              <caption id="factors-caption">Your second factors ({{ factors().length }} of {{ maxFactors }})</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Added</th>
                  <th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                @for (factor of factors(); track factor.id) {
                  <tr>
                    <th scope="row">{{ factor.name }}</th>
                    <td>
                      {{ factor.type === 'passkey' ? 'Passkey' : 'Authenticator app' }}
                      @if (factor.type === 'passkey') {
                        <span class="detail">{{ factor.synced ? 'synced' : 'this device' }}</span>
                      }
                    </td>
                    <td><time [attr.datetime]="factor.createdAt">{{ when(factor.createdAt) }}</time></td>
                    <td>
                      @if (factor.lastUsedAt) {
                        <time [attr.datetime]="factor.lastUsedAt">{{ when(factor.lastUsedAt) }}</time>
                      } @else {
                        Never
                      }
                    </td>
                    <td class="row-actions">
                      <button type="button" class="link" [attr.aria-label]="'Rename ' + factor.name"
                              (click)="choose(factor, 'rename')">Rename</button>
                      @if (factors().length > 1) {
                        <button type="button" class="link danger" [attr.aria-label]="'Remove ' + factor.name"
                                (click)="choose(factor, 'remove')">Remove</button>
                      }
                    </td>
                  </tr>
                }
              </tbody>
            </table>
          </div>
          @if (factors().length === 1) {
            <p class="hint" id="last-factor-hint">“{{ factors()[0].name }}” is your only second factor, so it cannot
              be removed: add another first, or turn two-factor authentication off.</p>
          }
        } @else {
          <p class="state off"><strong>Off.</strong> Your account is protected by your password alone.</p>
        }

        @switch (panel()) {
          @case ('regenerate') {
            <h3 id="panel-heading" tabindex="-1">Create new backup codes</h3>
            <p>Your current backup codes stop working. Confirm with a code from your authenticator
              app{{ offerPasskey() ? ' or with your passkey' : '' }}.</p>
            <app-second-factor-form fieldId="regenerate-code" submitLabel="Create new backup codes"
                                    [passkey]="offerPasskey()" passkeyLabel="Use a passkey and create new codes"
                                    [busy]="regenerating.busy()" [error]="regenerating.error()"
                                    (submitted)="regenerate($event)" (passkeyChosen)="regenerateWithPasskey()" />
            <button type="button" class="link" (click)="open('none')">Cancel</button>
          }
          @case ('codes') {
            <h3 id="panel-heading" tabindex="-1">{{ codesHeading() }}</h3>
            <app-backup-codes [codes]="newCodes()" [email]="api.user()?.email ?? null" (done)="codesSaved()" />
          }
          @case ('disable') {
            <h3 id="panel-heading" tabindex="-1">Turn off two-factor authentication</h3>
            <p>Your account will be protected by your password alone; every second factor and backup code is
              removed. Confirm with a code from your authenticator app, a backup code{{ offerPasskey() ? ' or your passkey' : '' }}.</p>
            <app-second-factor-form fieldId="disable-code" submitLabel="Turn off" [allowBackup]="true" [danger]="true"
                                    [passkey]="offerPasskey()" passkeyLabel="Use a passkey and turn off"
                                    [busy]="disabling.busy()" [error]="disabling.error()"
                                    (submitted)="disable($event)" (passkeyChosen)="disableWithPasskey()" />
            <button type="button" class="link" (click)="open('none')">Cancel</button>
          }
          @case ('passkey') {
            <h3 id="panel-heading" tabindex="-1">
              {{ status.enabled ? 'Add a passkey' : 'Turn on two-factor authentication with a passkey' }}
            </h3>
            <p>Your browser or phone creates a passkey for TwoFA, unlocked with your fingerprint, face or screen
              lock. At sign-in it replaces the code from an authenticator app.</p>
            <form (ngSubmit)="addPasskey()" novalidate>
              <div class="field">
                <label for="passkey-name">Name (optional)</label>
                <p class="hint" id="passkey-name-hint">{{ nameHint }} Without one: “Passkey”.</p>
                <input id="passkey-name" name="passkeyName" type="text" autocomplete="off" [(ngModel)]="passkeyName"
                       [attr.aria-invalid]="passkeyNameError() ? true : null"
                       aria-describedby="passkey-name-hint passkey-name-error">
                <app-error id="passkey-name-error" [error]="passkeyNameError()" />
              </div>
              <app-error id="passkey-error" [error]="addingPasskey.error()" />
              <button type="submit" [attr.aria-disabled]="addingPasskey.busy() ? true : null"
                      aria-describedby="passkey-error">
                {{ addingPasskey.busy() ? 'Waiting for your passkey…' : 'Create passkey' }}
              </button>
            </form>
            <button type="button" class="link" (click)="open('none')">Cancel</button>
          }
          @case ('rename') {
            <h3 id="panel-heading" tabindex="-1">Rename “{{ chosen()?.name }}”</h3>
            <form (ngSubmit)="rename()" novalidate>
              <div class="field">
                <label for="rename-name">New name</label>
                <p class="hint" id="rename-name-hint">{{ nameHint }}</p>
                <input id="rename-name" name="newName" type="text" autocomplete="off" [(ngModel)]="newName"
                       [attr.aria-invalid]="renameError() ? true : null"
                       aria-describedby="rename-name-hint rename-name-error">
                <app-error id="rename-name-error" [error]="renameError()" />
              </div>
              <button type="submit" [attr.aria-disabled]="renaming.busy() ? true : null">
                {{ renaming.busy() ? 'Saving…' : 'Save name' }}
              </button>
            </form>
            <button type="button" class="link" (click)="open('none')">Cancel</button>
          }
          @case ('remove') {
            <h3 id="panel-heading" tabindex="-1">Remove “{{ chosen()?.name }}”?</h3>
            <p>It no longer signs you in or confirms changes. Every other browser and device signed in to your
              account is signed out; this one stays signed in.</p>
            <app-error id="remove-error" [error]="removing.error()" />
            <div class="actions">
              <button type="button" class="danger" aria-describedby="remove-error"
                      [attr.aria-disabled]="removing.busy() ? true : null" (click)="remove()">
                {{ removing.busy() ? 'Removing…' : 'Remove' }}
              </button>
              <button type="button" class="secondary" (click)="open('none')">Cancel</button>
            </div>
          }
          @default {
            @if (status.enabled) {
              @if (factors().length < maxFactors) {
                <div class="actions">
                  <a class="button secondary" routerLink="/security/setup">Add an authenticator app</a>
                  <button type="button" class="secondary" (click)="open('passkey')">Add a passkey</button>
                </div>
              } @else {
                <p class="hint">You have {{ maxFactors }} second factors, the most an account may have. Remove one to
                  add another.</p>
              }
              <div class="actions">
                <button type="button" class="secondary" (click)="open('regenerate')">Create new backup codes</button>
                @if (api.user()?.role !== 'admin') {
                  <button type="button" class="secondary danger" (click)="open('disable')">Turn off two-factor authentication</button>
                }
              </div>
              @if (api.user()?.role === 'admin') {
                <p class="hint">Administrators must keep two-factor authentication on.</p>
              }
            } @else if (api.user()?.emailVerified === false) {
              <p id="twofa-needs-email">Two-factor authentication needs a verified email address, so that
                security notices and password resets reach you. Open the link in the mail we sent when you signed
                up, then turn it on here. No mail, or the link expired?</p>
              <app-resend-verification fieldId="security-resend" (alreadyVerified)="load()" />
            } @else {
              <p>Turn it on with an authenticator app on your phone, or with a passkey (your fingerprint, face or
                screen lock). You can add more of either later.</p>
              <div class="actions">
                <a class="button" routerLink="/security/setup">Turn on with an authenticator app</a>
                <button type="button" class="secondary" (click)="open('passkey')">Turn on with a passkey</button>
              </div>
            }
          }
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

    @if (api.user(); as user) {
      <app-change-email [currentEmail]="user.email" />
    }

    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions and devices</h2>
      <app-sessions-devices [twoFactorEnabled]="status()?.enabled ?? null" (signedOut)="toSignIn('You are signed out.')"
                            (currentSession)="thisSession.set($event)" />
      <h3 id="sign-out-heading">Sign out</h3>
      <p>Sign out of this browser, or of every browser and device where you are signed in, this one included.</p>
      <div class="actions">
        <button type="button" class="secondary" (click)="signOut()">Sign out</button>
        <button type="button" class="secondary" (click)="signOutEverywhere()">Sign out everywhere</button>
      </div>
      <app-error id="sessions-error" [error]="signingOut.error()" />
    </section>

    <p><a routerLink="/security/log">Security log: recent sign-ins and changes</a></p>

    @if (api.user(); as user) {
      <app-delete-account [email]="user.email" (deleted)="toSignIn('Your account was deleted.')" />
    }
  `,
})
export class SecurityPage implements ShowsBackupCodes {
  protected readonly api = inject(ApiService);
  private readonly router = inject(Router);
  private readonly injector = inject(Injector);

  protected readonly status = signal<TwoFactorStatus | null>(null);
  protected readonly factors = signal<Factor[]>([]);
  protected readonly panel = signal<Panel>('none');
  protected readonly newCodes = signal<string[]>([]);
  /** Whose backup codes the 'codes' panel shows: new ones, or the first set of a passkey that turned 2FA on. */
  protected readonly codesFromPasskey = signal(false);
  protected readonly codesHeading = computed(() =>
    this.codesFromPasskey() ? 'Two-factor authentication is on: save your backup codes' : 'Your new backup codes',
  );
  /** The factor a rename or removal is about. */
  protected readonly chosen = signal<Factor | null>(null);
  protected readonly notice = signal<string>(this.router.currentNavigation()?.extras.state?.['notice'] ?? '');
  protected readonly passkeyName = signal('');
  protected readonly passkeyNameError = signal<string | null>(null);
  protected readonly newName = signal('');
  protected readonly renameError = signal<ApiError | string | null>(null);
  protected readonly nameHint = FACTOR_NAME_HINT;
  protected readonly maxFactors = MAX_FACTORS;
  protected readonly loading = new Submission();
  protected readonly regenerating = new Submission();
  protected readonly disabling = new Submission();
  protected readonly addingPasskey = new Submission();
  protected readonly renaming = new Submission();
  protected readonly removing = new Submission();
  protected readonly signingOut = new Submission();
  protected readonly changing = new Submission();
  protected readonly passwordChanged = signal('');
  /** A passkey can prove it: the user has one and this browser can use it. */
  protected readonly offerPasskey = computed(() => (this.api.user()?.passkeys ?? 0) > 0 && passkeysSupported());
  /** This browser's session as the sessions list has it: how it signed in. */
  protected readonly thisSession = signal<Session | null>(null);
  /** How this session signed in: a passkey alone and a remembered browser are said as such. */
  protected readonly sessionSummary = computed(() => {
    const aal = this.api.user()?.aal;
    const amr = this.thisSession()?.amr ?? [];
    if (aal === 2 && amr.length > 0 && !amr.includes('pwd')) return 'Signed in with a passkey';
    if (aal === 2 && amr.includes('device')) return 'Signed in with password on a remembered browser';
    return aal === 2 ? 'Signed in with password and second factor' : 'Signed in with password only';
  });
  private readonly sessionsDevices = viewChild(SessionsDevices);
  private readonly backupCodes = viewChild(BackupCodes);
  private readonly passwordForm = viewChild.required(PasswordForm);
  protected readonly when = (iso: string | null) => (iso ? formatWhen(iso) : 'an unknown date');

  constructor() {
    this.load();
  }

  hasUnsavedCodes(): boolean {
    return this.panel() === 'codes' && !this.backupCodes()?.saved();
  }

  /** The user, the 2FA status and the factors at once (their 401s share one refresh). */
  protected load(): void {
    this.loading.run(
      forkJoin([this.api.me(), this.api.twoFactorStatus(), this.api.factors()]),
      ([, status, { factors }]) => {
        this.status.set(status);
        this.factors.set(factors);
      },
    );
  }

  protected open(panel: Panel): void {
    this.panel.set(panel);
    this.notice.set('');
    if (panel === 'passkey') {
      this.passkeyName.set('');
      this.passkeyNameError.set(null);
      this.addingPasskey.error.set(null);
    }
    focusAfterRender(this.injector, panel === 'none' ? '#twofa-heading' : '#panel-heading');
  }

  protected choose(factor: Factor, panel: 'rename' | 'remove'): void {
    this.chosen.set(factor);
    this.newName.set(factor.name);
    this.renameError.set(null);
    this.renaming.error.set(null);
    this.removing.error.set(null);
    this.open(panel);
  }

  protected regenerate(proof: SecondFactor): void {
    if (!('code' in proof)) return;
    this.regenerating.run(this.api.regenerateBackupCodes(proof), (result) => this.showCodes(result.backupCodes, false));
  }

  protected regenerateWithPasskey(): void {
    this.regenerating.run(
      this.withPasskey((proof) => this.api.regenerateBackupCodes(proof)),
      (result) => this.showCodes(result.backupCodes, false),
    );
  }

  protected codesSaved(): void {
    this.newCodes.set([]);
    this.reloadAfter(
      this.codesFromPasskey()
        ? 'Two-factor authentication is on.'
        : 'New backup codes are ready; the old ones no longer work.',
    );
  }

  protected disable(proof: SecondFactor): void {
    // The API answers with fresh cookies for this session (aal 1): read the user again.
    this.disabling.run(this.api.disable(proof), () => this.reloadAfter('Two-factor authentication is off.'));
  }

  protected disableWithPasskey(): void {
    this.disabling.run(
      this.withPasskey((proof) => this.api.disable(proof)),
      () => this.reloadAfter('Two-factor authentication is off.'),
    );
  }

  /**
   * The registration ceremony: the API's options, the browser's new
   * credential, the API's check. The first factor turns 2FA on: its backup
   * codes are shown as setup shows them.
   */
  protected addPasskey(): void {
    if (this.addingPasskey.busy()) return;
    const name = checkFactorName(this.passkeyName());
    if (name.error) {
      this.passkeyNameError.set(name.error);
      document.getElementById('passkey-name')?.focus();
      return;
    }
    this.passkeyNameError.set(null);
    this.addingPasskey.run(
      this.api.passkeyOptions(name.value).pipe(
        switchMap((options) =>
          createPasskey(options.publicKey).pipe(
            switchMap((credential) => this.api.registerPasskey(options.ceremonyId, credential, name.value)),
          ),
        ),
      ),
      (result) => {
        if (result.backupCodes) {
          this.load(); // 2FA is on, the session aal 2
          this.showCodes(result.backupCodes, true);
        } else {
          this.reloadAfter(`Passkey “${result.factor.name}” is added.`);
        }
      },
    );
  }

  protected rename(): void {
    const factor = this.chosen();
    if (!factor || this.renaming.busy()) return;
    const name = checkFactorName(this.newName(), true);
    if (name.error || !name.value) {
      this.renameError.set(name.error ?? 'Enter a name.');
      document.getElementById('rename-name')?.focus();
      return;
    }
    this.renameError.set(null);
    this.renaming.run(
      this.api.renameFactor(factor.id, name.value),
      (renamed) => this.reloadAfter(`Renamed to “${renamed.name}”.`),
      (error) => {
        this.renameError.set(error);
        document.getElementById('rename-name')?.focus();
      },
    );
  }

  /** Never the last factor: the API answers 409 last_factor, shown in the panel. */
  protected remove(): void {
    const factor = this.chosen();
    if (!factor) return;
    this.removing.run(this.api.removeFactor(factor.id), () => this.reloadAfter(`“${factor.name}” is removed.`));
  }

  /** The API answers with fresh cookies for this session: the user stays signed in here. */
  protected changePassword({ currentPassword, newPassword }: PasswordChoice): void {
    this.passwordChanged.set('');
    this.changing.run(this.api.changePassword(currentPassword, newPassword), () => {
      this.passwordForm().clear();
      this.sessionsDevices()?.reload(); // every other session ended
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

  /** The `account` challenge (the access token), the browser's assertion, then `call` with it. */
  private withPasskey<T>(call: (proof: PasskeyProof) => Observable<T>): Observable<T> {
    return provePasskey(this.api.challenge()).pipe(switchMap((proof) => call(proof)));
  }

  private showCodes(codes: string[], fromPasskey: boolean): void {
    this.newCodes.set(codes);
    this.codesFromPasskey.set(fromPasskey);
    this.open('codes');
  }

  private reloadAfter(notice: string): void {
    this.panel.set('none');
    this.load();
    // Turning 2FA on or off, removing a factor: other sessions may have ended, remembered browsers been forgotten.
    this.sessionsDevices()?.reload();
    this.notice.set(notice);
    focusAfterRender(this.injector, '#twofa-heading');
  }

  protected toSignIn(notice: string): void {
    const state: SignInState = { notice };
    void this.router.navigate(['/sign-in'], { state });
  }
}
