import { Component, inject, input, output, signal } from '@angular/core';
import { ApiService } from './api.service';
import { ErrorMessage } from './error-message';
import { Submission } from './submission';

/**
 * "Send the link again" for a signed-in user whose address is not verified:
 * a new verification mail (the older link stops working). 202 says "sent";
 * 429 says when to try again; 409 (verified meanwhile) tells the page.
 */
@Component({
  selector: 'app-resend-verification',
  imports: [ErrorMessage],
  template: `
    <button type="button" class="secondary" [attr.aria-disabled]="sending.busy() ? true : null"
            [attr.aria-describedby]="fieldId() + '-error'" (click)="send()">
      {{ sending.busy() ? 'Sending…' : 'Send the link again' }}
    </button>
    <p class="status" role="status" [id]="fieldId() + '-status'">{{ sent() }}</p>
    <app-error [id]="fieldId() + '-error'" [error]="sending.error()" />
  `,
})
export class ResendVerification {
  private readonly api = inject(ApiService);
  /** Prefix of the ids of its status and error lines (unique in the page). */
  readonly fieldId = input('resend');
  /** The API says the address is verified already: the page reads the user again. */
  readonly alreadyVerified = output<void>();

  protected readonly sending = new Submission();
  protected readonly sent = signal('');

  protected send(): void {
    this.sent.set('');
    this.sending.run(
      this.api.resendVerification(),
      () => this.sent.set('Sent: check your mail for the new link. It works for 24 hours; older links no longer work.'),
      (error) => {
        if (error.code === 'email_already_verified') this.alreadyVerified.emit();
      },
    );
  }
}
