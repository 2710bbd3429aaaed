import { Component, ElementRef, Injector, effect, inject, signal, untracked, viewChild } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { FormsModule } from '@angular/forms';
import { NavigationStart, Router } from '@angular/router';
import { Observable, filter, switchMap } from 'rxjs';
import { ApiError, ApiService, Reauthentication, SecondFactor, User } from './api.service';
import { ErrorMessage } from './error-message';
import { focusAfterRender } from './focus';
import { passkeysSupported, provePasskey } from './passkeys';
import { ReauthPrompt } from './reauth';
import { SecondFactorForm } from './second-factor-form';
import { Submission } from './submission';

/** What can take the focus inside the dialog, in order. */
const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';

/**
 * "Confirm it's you": the one re-authentication dialog, opened by the session
 * interceptor when the API answers `401 reauthentication_required`. With 2FA
 * on it asks for the second factor (a code, a backup code, or a passkey through
 * the `account` challenge), with 2FA off for the password, and sends it to
 * `POST /auth/reauthenticate`; the interceptor then retries what needed it.
 *
 * A modal `<dialog>` (showModal: the page behind is inert), labelled by its
 * heading and described by its first line; Tab and Shift+Tab stay inside it;
 * Escape or "Cancel" cancels (the request that needed it fails with "not
 * done"); the focus goes back where it was.
 */
@Component({
  selector: 'app-reauth-dialog',
  imports: [FormsModule, ErrorMessage, SecondFactorForm],
  template: `
    <dialog #dialog id="reauth-dialog" class="dialog" aria-labelledby="reauth-heading" aria-describedby="reauth-intro"
            (close)="closed()" (keydown)="keepFocusInside($event)">
      @if (prompt.open()) {
        <h2 id="reauth-heading" tabindex="-1">Confirm it’s you</h2>
        @if (user(); as user) {
          @if (user.twoFactorEnabled) {
            <p id="reauth-intro">This change needs a recent proof that it is you: confirm with your second factor.
              Then it is done at once.</p>
            <app-second-factor-form fieldId="reauth-code" submitLabel="Confirm" [allowBackup]="true"
                                    [passkey]="offerPasskey()" [busy]="proving.busy()" [error]="proving.error()"
                                    (submitted)="proveSecondFactor($event)" (passkeyChosen)="provePasskey()" />
          } @else {
            <p id="reauth-intro">This change needs a recent proof that it is you: enter your password. Then it is
              done at once.</p>
            <form (ngSubmit)="provePassword()" novalidate>
              <div class="field">
                <label for="reauth-password">Your password</label>
                <input #passwordField id="reauth-password" name="password" type="password"
                       autocomplete="current-password" [(ngModel)]="password"
                       [attr.aria-invalid]="passwordError() ? true : null" aria-describedby="reauth-password-error">
                <app-error id="reauth-password-error" [error]="passwordError()" />
              </div>
              <button type="submit" [attr.aria-disabled]="proving.busy() ? true : null">
                {{ proving.busy() ? 'Checking…' : 'Confirm' }}
              </button>
            </form>
          }
        } @else {
          <p id="reauth-intro">This change needs a recent proof that it is you.</p>
          @if (loading.busy()) {
            <p>Loading…</p>
          }
          <app-error id="reauth-load-error" [error]="loading.error()" />
          @if (loading.error()) {
            <button type="button" class="secondary" (click)="load()">Try again</button>
          }
        }
        <button type="button" class="link" (click)="cancel()">Cancel</button>
      }
    </dialog>
  `,
})
export class ReauthDialog {
  protected readonly prompt = inject(ReauthPrompt);
  private readonly api = inject(ApiService);
  private readonly injector = inject(Injector);
  private readonly dialog = viewChild.required<ElementRef<HTMLDialogElement>>('dialog');
  private readonly passwordField = viewChild<ElementRef<HTMLInputElement>>('passwordField');

  protected readonly user = signal<User | null>(null);
  protected readonly password = signal('');
  protected readonly passwordError = signal<ApiError | string | null>(null);
  protected readonly loading = new Submission();
  protected readonly proving = new Submission();
  protected readonly offerPasskey = () => (this.user()?.passkeys ?? 0) > 0 && passkeysSupported();

  /** Where the focus was when the dialog opened: it goes back there. */
  private returnFocus: HTMLElement | null = null;
  /** Counts the dialog's openings: a proof answered after a cancel belongs to none. */
  private opening = 0;

  constructor() {
    // Another page (the Back button, or the session ended and sign-in opens): nothing to confirm any more.
    inject(Router)
      .events.pipe(
        filter((event) => event instanceof NavigationStart),
        takeUntilDestroyed(),
      )
      .subscribe(() => this.hide());
    effect(() => {
      const open = this.prompt.open();
      untracked(() => (open ? this.show() : this.hide()));
    });
    // The API's answer to a wrong password goes next to the field, which takes the focus.
    effect(() => {
      const error = this.proving.error();
      untracked(() => {
        if (this.user()?.twoFactorEnabled) return;
        this.passwordError.set(error);
        if (error) {
          const input = this.passwordField()?.nativeElement;
          input?.focus();
          input?.select();
        }
      });
    });
  }

  private show(): void {
    const dialog = this.dialog().nativeElement;
    if (dialog.open) return;
    this.opening++;
    this.returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    this.user.set(null);
    this.password.set('');
    this.passwordError.set(null);
    this.proving.error.set(null);
    dialog.showModal();
    focusAfterRender(this.injector, '#reauth-heading');
    this.load();
  }

  private hide(): void {
    const dialog = this.dialog().nativeElement;
    if (dialog.open) dialog.close();
  }

  /** Who is asked (2FA on or off, passkeys), read fresh: the page's copy may be older. */
  protected load(): void {
    this.loading.run(
      this.api.me(),
      (user) => {
        this.user.set(user);
        // The first way to prove it: the passkey button when offered, else the field.
        focusAfterRender(this.injector, '#reauth-dialog .passkey-choice button, #reauth-code, #reauth-password');
      },
      (error) => this.closeIfSignedOut(error),
    );
  }

  protected proveSecondFactor(proof: SecondFactor): void {
    this.prove(this.api.reauthenticate(proof));
  }

  protected provePasskey(): void {
    this.prove(provePasskey(this.api.challenge()).pipe(switchMap((proof) => this.api.reauthenticate(proof))));
  }

  protected provePassword(): void {
    if (this.proving.busy()) return;
    if (this.password().length === 0) {
      this.passwordError.set('Enter your password.');
      this.passwordField()?.nativeElement.focus();
      return;
    }
    const proof: Reauthentication = { password: this.password() };
    this.prove(this.api.reauthenticate(proof));
  }

  private prove(call: Observable<unknown>): void {
    if (this.proving.busy()) return;
    const opening = this.opening;
    this.proving.run(
      call,
      () => {
        if (opening === this.opening && this.prompt.open()) this.prompt.finish(true);
      },
      (error) => this.closeIfSignedOut(error),
    );
  }

  /** The session ended meanwhile (the interceptor sends to sign in): the dialog has nothing left to ask. */
  private closeIfSignedOut(error: ApiError): void {
    if (error.status === 401 && error.code !== 'invalid_credentials') this.hide();
  }

  protected cancel(): void {
    this.hide();
  }

  /** Escape, "Cancel" or a proof: the dialog closed. Anything still waiting is cancelled, the focus goes back. */
  protected closed(): void {
    this.opening++;
    this.proving.busy.set(false);
    if (this.prompt.open()) this.prompt.finish(false);
    const target = this.returnFocus;
    this.returnFocus = null;
    if (target?.isConnected) target.focus();
  }

  /** Tab from the last control goes to the first, Shift+Tab from the first to the last. */
  protected keepFocusInside(event: KeyboardEvent): void {
    if (event.key !== 'Tab') return;
    const dialog = this.dialog().nativeElement;
    const controls = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
      (el) => !el.hasAttribute('disabled') && el.getClientRects().length > 0,
    );
    if (controls.length === 0) return;
    const first = controls[0];
    const last = controls[controls.length - 1];
    const active = document.activeElement;
    const inside = controls.includes(active as HTMLElement);
    if (event.shiftKey && (active === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  }
}
