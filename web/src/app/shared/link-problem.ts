import { Component, input } from '@angular/core';
import { ApiError } from './api.service';
import { ErrorMessage } from './error-message';

/** A mail's link page opened without a token (or with a token cut off). */
export const NO_TOKEN =
  'This page opens from the link in a mail, and the link here has no token. Open it again from the mail, or ask for a new one.';

/**
 * "This link does not work": why (the API's `invalid_token` message, or
 * NO_TOKEN), and what to do instead (the content). The heading can take the
 * focus when a page turns to it after a request.
 */
@Component({
  selector: 'app-link-problem',
  imports: [ErrorMessage],
  template: `
    <section aria-labelledby="link-problem-heading">
      <h2 id="link-problem-heading" tabindex="-1">This link does not work</h2>
      <app-error id="link-error" [error]="error()" />
      <ng-content />
    </section>
  `,
})
export class LinkProblem {
  readonly error = input<ApiError | string | null>(null);
}
