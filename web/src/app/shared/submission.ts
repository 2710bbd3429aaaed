import { signal } from '@angular/core';
import { Observable } from 'rxjs';
import { ApiError, toApiError } from './api.service';

/**
 * One request a form sends: busy while it runs (a second submit is ignored),
 * its error for the error line, cleared at each new try so that a repeated
 * error is announced again.
 */
export class Submission {
  readonly busy = signal(false);
  readonly error = signal<ApiError | null>(null);

  /** `failed` sees the error after it is set (it may clear it, when the page answers it otherwise). */
  run<T>(call: Observable<T>, done: (value: T) => void, failed?: (error: ApiError) => void): void {
    if (this.busy()) return;
    this.busy.set(true);
    this.error.set(null);
    call.subscribe({
      next: (value) => {
        this.busy.set(false);
        done(value);
      },
      error: (err: unknown) => {
        this.busy.set(false);
        const error = toApiError(err);
        this.error.set(error);
        failed?.(error);
      },
    });
  }
}
