import { Injectable, signal } from '@angular/core';
import { Observable, ReplaySubject } from 'rxjs';

/**
 * Recent authentication (API.md v3): a route that needs a proof from the last
 * 10 minutes answers `401 reauthentication_required`. The session interceptor
 * then asks here; the one dialog (ReauthDialog, in the app's frame) asks the
 * user for the proof and says whether it was given. Requests that get the
 * answer while the dialog is open wait for the same dialog.
 */
@Injectable({ providedIn: 'root' })
export class ReauthPrompt {
  /** Whether the dialog is asked for. */
  readonly open = signal(false);
  private pending: ReplaySubject<boolean> | null = null;

  /** True once the user proved themselves (retry), false when they cancelled. */
  confirm(): Observable<boolean> {
    if (!this.pending) {
      this.pending = new ReplaySubject<boolean>(1);
      this.open.set(true);
    }
    return this.pending.asObservable();
  }

  /** The dialog's outcome, for every request waiting. */
  finish(proven: boolean): void {
    const pending = this.pending;
    this.pending = null;
    this.open.set(false);
    pending?.next(proven);
    pending?.complete();
  }
}
