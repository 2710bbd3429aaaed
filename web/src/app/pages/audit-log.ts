import { Component, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { ApiService, AuditEvent } from '../shared/api.service';
import { ErrorMessage } from '../shared/error-message';
import { formatWhen, shortUserAgent } from '../shared/format';
import { Submission } from '../shared/submission';

/** Every event type of API.md, in words. */
const EVENT_WORDS: Record<string, string> = {
  register: 'Account created',
  login: 'Password accepted',
  login_failed: 'Wrong password',
  lockout: 'Locked for a while after too many wrong attempts',
  twofa_setup: 'Two-factor setup started',
  twofa_enabled: 'Two-factor authentication turned on',
  twofa_disabled: 'Two-factor authentication turned off',
  twofa_verified: 'Signed in with a second factor',
  twofa_failed: 'Wrong code, backup code or passkey',
  backup_code_used: 'Backup code used',
  backup_codes_regenerated: 'New backup codes created',
  refresh_reuse: 'An old session token was reused: that session was ended',
  logout: 'Signed out',
  logout_all: 'Signed out everywhere',
  role_granted: 'Administrator role granted by an operator',
  role_revoked: 'Administrator role removed by an operator',
  twofa_reset: 'Two-factor authentication reset by an operator',
  email_verified: 'Email address verified',
  password_reset_requested: 'Password reset requested',
  password_reset: 'Password reset',
  password_changed: 'Password changed',
  factor_added: 'Second factor added',
  factor_removed: 'Second factor removed',
  factor_renamed: 'Second factor renamed',
  passkey_login: 'Signed in with a passkey',
  reauthenticated: 'Confirmed it was you',
  session_revoked: 'A session was ended',
  device_remembered: 'Browser remembered',
  device_login: 'Signed in on a remembered browser',
  device_forgotten: 'Remembered browser forgotten',
  email_change_requested: 'Email change requested',
  email_changed: 'Email address changed',
};

interface Row {
  at: string;
  when: string;
  what: string;
  ip: string;
  browser: string;
  userAgent: string;
}

function toRow(event: AuditEvent): Row {
  return {
    at: event.at,
    when: formatWhen(event.at),
    what: EVENT_WORDS[event.type] ?? event.type.replace(/_/g, ' '),
    ip: event.ip ?? '—',
    browser: shortUserAgent(event.userAgent),
    userAgent: event.userAgent ?? 'No browser: an operator action',
  };
}

@Component({
  selector: 'app-audit-log',
  imports: [RouterLink, ErrorMessage],
  template: `
    <h1 tabindex="-1">Security log</h1>
    <p>Sign-ins and changes to your account's security in the last 90 days, newest first. Something you do not
      recognise? <a routerLink="/security">Sign out everywhere</a> and turn on two-factor authentication.</p>
    <app-error id="log-error" [error]="loading.error()" />
    @if (loading.error()) {
      <button type="button" class="secondary" (click)="load()">Try again</button>
    }
    @if (rows(); as rows) {
      @if (rows.length === 0) {
        <p>No events yet.</p>
      } @else {
        <div class="table-wrap" tabindex="0" role="region" aria-labelledby="log-caption">
          <table>
            <caption id="log-caption">Your last {{ rows.length }} security events</caption>
            <thead>
              <tr><th scope="col">When</th><th scope="col">What</th><th scope="col">IP address</th><th scope="col">Browser</th></tr>
            </thead>
            <tbody>
              @for (row of rows; track $index) {
                <tr>
                  <td><time [attr.datetime]="row.at">{{ row.when }}</time></td>
                  <td>{{ row.what }}</td>
                  <td>{{ row.ip }}</td>
                  <td [attr.title]="row.userAgent">{{ row.browser }}</td>
                </tr>
              }
            </tbody>
          </table>
        </div>
      }
    } @else if (loading.busy()) {
      <p>Loading…</p>
    }
    <p><a routerLink="/security">Back to security</a></p>
  `,
})
export class AuditLogPage {
  private readonly api = inject(ApiService);
  protected readonly rows = signal<Row[] | null>(null);
  protected readonly loading = new Submission();

  constructor() {
    this.load();
  }

  protected load(): void {
    this.loading.run(this.api.auditLog(), (events) => {
      const newestFirst = [...events].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
      this.rows.set(newestFirst.map(toRow));
    });
  }
}
