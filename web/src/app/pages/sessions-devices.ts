import { Component, Injector, effect, inject, input, output, signal, untracked } from '@angular/core';
import { Observable } from 'rxjs';
import { ApiError, ApiService, RememberedDevice, Session } from '../shared/api.service';
import { ErrorMessage } from '../shared/error-message';
import { focusAfterRender } from '../shared/focus';
import { describeDevice, describeSignIn, formatWhen } from '../shared/format';
import { Submission } from '../shared/submission';

const SESSION_GONE = 'That session had ended already. The list is up to date now.';
const DEVICE_GONE = 'That browser was forgotten already. The list is up to date now.';

/**
 * The security page's "Sessions and devices": where the user is signed in
 * (`GET /auth/sessions`), each with "End session" (`POST /auth/sessions/revoke`;
 * this browser's is a sign-out, which the page carries out), and the browsers
 * remembered at the 2FA page (`GET /auth/devices`) with "Forget" and "Forget
 * all" (`POST /auth/devices/forget`). A `404` (ended or forgotten meanwhile)
 * is said and the list read again. Remembered browsers exist only with 2FA on
 * (turning it off forgets them), so they are asked for only then.
 */
@Component({
  selector: 'app-sessions-devices',
  imports: [ErrorMessage],
  template: `
    <p class="status" role="status" id="sessions-notice">{{ notice() }}</p>

    <h3 id="sessions-list-heading" tabindex="-1">Where you are signed in</h3>
    <app-error id="sessions-load-error" [error]="sessionsLoad.error()" />
    @if (sessionsLoad.error()) {
      <button type="button" class="secondary" (click)="loadSessions()">Try again</button>
    }
    @if (sessions(); as sessions) {
      <div class="table-wrap" tabindex="0" role="region" aria-labelledby="sessions-caption">
        <table class="sessions">
          <caption id="sessions-caption">Your sessions ({{ sessions.length }}), most recently used first</caption>
          <thead>
            <tr>
              <th scope="col">Browser</th><th scope="col">Signed in with</th><th scope="col">Signed in</th>
              <th scope="col">Last used</th><th scope="col">IP address</th>
              <th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            @for (session of sessions; track session.id) {
              <tr>
                <th scope="row">
                  {{ deviceName(session.device) }}
                  @if (session.current) {
                    <span class="tag">This browser</span>
                  }
                </th>
                <td>{{ signedInWith(session.amr) }}</td>
                <td><time [attr.datetime]="session.createdAt">{{ when(session.createdAt) }}</time></td>
                <td>
                  @if (session.lastUsedAt) {
                    <time [attr.datetime]="session.lastUsedAt">{{ when(session.lastUsedAt) }}</time>
                  } @else {
                    —
                  }
                </td>
                <td>{{ session.ip ?? '—' }}</td>
                <td class="row-actions">
                  <button type="button" class="link danger" [attr.aria-label]="endLabel(session)"
                          [attr.aria-disabled]="ending.busy() ? true : null" aria-describedby="session-action-error"
                          (click)="end(session)">
                    {{ ending.busy() && endingId() === session.id ? 'Ending…' : 'End session' }}
                  </button>
                </td>
              </tr>
            }
          </tbody>
        </table>
      </div>
      <p class="hint">Ending a session signs that browser or device out at once. Ending this browser’s session signs
        you out here.</p>
    } @else if (sessionsLoad.busy()) {
      <p>Loading…</p>
    }
    <app-error id="session-action-error" [error]="sessionProblem()" />

    <h3 id="devices-heading" tabindex="-1">Remembered browsers</h3>
    <p>A remembered browser signs in with your password alone, without the second factor, for 30 days after you
      ticked “Remember this browser” there. Forget any you no longer use or do not recognise.</p>
    <app-error id="devices-load-error" [error]="devicesLoad.error()" />
    @if (devicesLoad.error()) {
      <button type="button" class="secondary" (click)="loadDevices()">Try again</button>
    }
    @if (devices(); as devices) {
      @if (devices.length === 0) {
        <p id="no-devices">
          {{ twoFactorEnabled() ? 'No browser is remembered.'
            : 'No browser is remembered: that needs two-factor authentication on.' }}
        </p>
      } @else {
        <div class="table-wrap" tabindex="0" role="region" aria-labelledby="devices-caption">
          <table class="devices">
            <caption id="devices-caption">Your remembered browsers ({{ devices.length }})</caption>
            <thead>
              <tr>
                <th scope="col">Browser</th><th scope="col">Remembered on</th><th scope="col">Last used</th>
                <th scope="col">IP address</th><th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              @for (device of devices; track device.id) {
                <tr>
                  <th scope="row">
                    {{ deviceName(device.device) }}
                    @if (device.current) {
                      <span class="tag">This browser</span>
                    }
                  </th>
                  <td><time [attr.datetime]="device.createdAt">{{ when(device.createdAt) }}</time></td>
                  <td>
                    @if (device.lastUsedAt) {
                      <time [attr.datetime]="device.lastUsedAt">{{ when(device.lastUsedAt) }}</time>
                    } @else {
                      —
                    }
                  </td>
                  <td>{{ device.ip ?? '—' }}</td>
                  <td class="row-actions">
                    <button type="button" class="link danger" [attr.aria-label]="forgetLabel(device)"
                            [attr.aria-disabled]="forgetting.busy() ? true : null"
                            aria-describedby="device-action-error" (click)="forget(device)">
                      {{ forgetting.busy() && forgettingId() === device.id ? 'Forgetting…' : 'Forget' }}
                    </button>
                  </td>
                </tr>
              }
            </tbody>
          </table>
        </div>
        <div class="actions">
          <button type="button" class="secondary danger" [attr.aria-disabled]="forgetting.busy() ? true : null"
                  aria-describedby="device-action-error" (click)="forgetAll()">
            {{ forgetting.busy() && forgettingId() === all ? 'Forgetting…' : 'Forget all remembered browsers' }}
          </button>
        </div>
      }
    } @else if (devicesLoad.busy()) {
      <p>Loading…</p>
    }
    <app-error id="device-action-error" [error]="deviceProblem()" />
  `,
})
export class SessionsDevices {
  private readonly api = inject(ApiService);
  private readonly injector = inject(Injector);

  /** Whether 2FA is on (null: not known yet): remembered browsers exist only then. */
  readonly twoFactorEnabled = input<boolean | null>(null);
  /** This browser's session was ended: the API cleared its cookies, the page goes to sign in. */
  readonly signedOut = output<void>();
  /** This browser's session as last listed (how it signed in), for the page's account summary. */
  readonly currentSession = output<Session | null>();

  protected readonly sessions = signal<Session[] | null>(null);
  protected readonly devices = signal<RememberedDevice[] | null>(null);
  protected readonly notice = signal('');
  protected readonly sessionProblem = signal<ApiError | string | null>(null);
  protected readonly deviceProblem = signal<ApiError | string | null>(null);
  protected readonly sessionsLoad = new Submission();
  protected readonly devicesLoad = new Submission();
  protected readonly ending = new Submission();
  protected readonly forgetting = new Submission();
  /** Which row's request is running (its button says so). */
  protected readonly endingId = signal<string | null>(null);
  protected readonly forgettingId = signal<string | null>(null);
  protected readonly all = '*all*';

  protected readonly when = formatWhen;
  protected readonly deviceName = describeDevice;
  protected readonly signedInWith = describeSignIn;

  constructor() {
    this.loadSessions();
    effect(() => {
      const on = this.twoFactorEnabled();
      untracked(() => {
        if (on) this.loadDevices();
        else this.devices.set(on === false ? [] : null);
      });
    });
  }

  /** Both lists again (after a change that ends other sessions or forgets remembered browsers). */
  reload(): void {
    this.loadSessions();
    if (this.twoFactorEnabled()) this.loadDevices();
  }

  protected loadSessions(): void {
    this.sessionsLoad.run(this.api.sessions(), (sessions) => {
      this.sessions.set(sessions);
      this.currentSession.emit(sessions.find((session) => session.current) ?? null);
    });
  }

  protected loadDevices(): void {
    this.devicesLoad.run(this.api.devices(), (devices) => this.devices.set(devices));
  }

  /** Names the session, so that every row's button says which one it ends. */
  protected endLabel(session: Session): string {
    const name = describeDevice(session.device);
    return session.current
      ? `End session ${name}, this browser (signs you out)`
      : `End session ${name}, signed in ${formatWhen(session.createdAt)}`;
  }

  protected forgetLabel(device: RememberedDevice): string {
    const name = describeDevice(device.device);
    return device.current
      ? `Forget ${name}, this browser`
      : `Forget ${name}, remembered ${formatWhen(device.createdAt)}`;
  }

  protected end(session: Session): void {
    if (this.ending.busy()) return;
    this.notice.set('');
    this.sessionProblem.set(null);
    this.endingId.set(session.id);
    this.ending.run(
      this.api.revokeSession(session.id),
      () => {
        if (session.current) {
          // A logout: the API cleared this browser's cookies.
          this.api.user.set(null);
          this.signedOut.emit();
          return;
        }
        this.notice.set(`Session ended: ${describeDevice(session.device)} is signed out.`);
        this.afterChange(() => this.loadSessions(), '#sessions-list-heading');
      },
      (error) => {
        if (error.code !== 'session_not_found') {
          this.sessionProblem.set(error);
          return;
        }
        this.sessionProblem.set(SESSION_GONE);
        this.afterChange(() => this.loadSessions(), '#sessions-list-heading');
      },
    );
  }

  protected forget(device: RememberedDevice): void {
    const name = describeDevice(device.device);
    this.forgetDevices(
      device.id,
      this.api.forgetDevice(device.id),
      device.current
        ? `Forgotten: this browser (${name}) asks for your second factor at the next sign-in.`
        : `Forgotten: ${name} asks for your second factor at its next sign-in.`,
    );
  }

  protected forgetAll(): void {
    this.forgetDevices(
      this.all,
      this.api.forgetAllDevices(),
      'Every remembered browser is forgotten: each asks for your second factor at its next sign-in.',
    );
  }

  private forgetDevices(id: string, call: Observable<void>, done: string): void {
    if (this.forgetting.busy()) return;
    this.notice.set('');
    this.deviceProblem.set(null);
    this.forgettingId.set(id);
    this.forgetting.run(
      call,
      () => {
        this.notice.set(done);
        this.afterChange(() => this.loadDevices(), '#devices-heading');
      },
      (error) => {
        if (error.code !== 'device_not_found') {
          this.deviceProblem.set(error);
          return;
        }
        this.deviceProblem.set(DEVICE_GONE);
        this.afterChange(() => this.loadDevices(), '#devices-heading');
      },
    );
  }

  /** The list read again; the focus to its heading, since the row and its button may be gone. */
  private afterChange(reload: () => void, heading: string): void {
    reload();
    focusAfterRender(this.injector, heading);
  }
}
