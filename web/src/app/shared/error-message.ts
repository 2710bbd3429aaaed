import { Component, computed, input } from '@angular/core';
import { ApiError } from './api.service';

/** What a person reads for an error: the API's message, and when to try again. */
export function describeError(error: ApiError | string | null): string {
  if (error === null || typeof error === 'string') return error ?? '';
  if (error.status === 429 || error.status >= 500) {
    // "Try again in N s." from Retry-After replaces a vaguer "Try again later." of the message.
    const message = error.message.replace(/\s*Try again( later)?\.?$/i, '');
    const wait = error.retryAfter !== null ? `in ${error.retryAfter} s` : error.status === 429 ? 'later' : '';
    return `${message} Try again${wait ? ` ${wait}` : ''}.`;
  }
  return error.message;
}

/**
 * The one error line of every page: a live region that is always in the page
 * (so a screen reader announces what appears in it), referenced by the field
 * it belongs to through aria-describedby (give it an `id`).
 */
@Component({
  selector: 'app-error',
  host: { class: 'error', 'aria-live': 'assertive', 'aria-atomic': 'true' },
  template: `@if (text()) {<span aria-hidden="true">⚠ </span>{{ text() }}}`,
})
export class ErrorMessage {
  readonly error = input<ApiError | string | null>(null);
  protected readonly text = computed(() => describeError(this.error()));
}
