import { Component, ElementRef, input, output, signal, viewChild } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { ErrorMessage } from './error-message';

/**
 * Backup codes, shown this once: copy, download as a .txt, and "I saved them"
 * ticked before the step can be left.
 */
@Component({
  selector: 'app-backup-codes',
  imports: [FormsModule, ErrorMessage],
  template: `
    <p>
      If you lose your phone, each of these codes signs you in once. This is the only time they are shown:
      keep them somewhere safe, such as a password manager.
    </p>
    <ol class="backup-codes" aria-label="Backup codes">
      @for (code of codes(); track code) {
        <li><code>{{ code }}</code></li>
      }
    </ol>
    <div class="actions">
      <button type="button" class="secondary" (click)="copy()">Copy codes</button>
      <button type="button" class="secondary" (click)="download()">Download .txt</button>
    </div>
    <p class="status" role="status">{{ copied() }}</p>
    <div class="check">
      <input #savedBox type="checkbox" id="codes-saved" name="saved" [(ngModel)]="saved"
             aria-describedby="codes-saved-error" (ngModelChange)="error.set(null)">
      <label for="codes-saved">I saved my backup codes</label>
    </div>
    <app-error id="codes-saved-error" [error]="error()" />
    <button type="button" (click)="finish()">Done</button>
  `,
})
export class BackupCodes {
  readonly codes = input.required<string[]>();
  /** Named in the downloaded file, so a person knows which account it is for. */
  readonly email = input<string | null>(null);
  readonly done = output<void>();

  readonly saved = signal(false);
  protected readonly copied = signal('');
  protected readonly error = signal<string | null>(null);
  private readonly savedBox = viewChild.required<ElementRef<HTMLInputElement>>('savedBox');

  protected async copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.codes().join('\n'));
      this.copied.set('Backup codes copied.');
    } catch {
      this.copied.set('Copying is not allowed here: select the codes above, or download them.');
    }
  }

  protected download(): void {
    const lines = [
      `TwoFA backup codes${this.email() ? ` for ${this.email()}` : ''}`,
      `Created ${new Date().toISOString()}`,
      'Each code works once. New codes replace all of these.',
      '',
      ...this.codes(),
      '',
    ];
    const url = URL.createObjectURL(new Blob([lines.join('\n')], { type: 'text/plain;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'twofa-backup-codes.txt';
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    this.copied.set('Backup codes downloaded as twofa-backup-codes.txt.');
  }

  protected finish(): void {
    if (!this.saved()) {
      this.error.set('Tick “I saved my backup codes” first: you will not see these codes again.');
      this.savedBox().nativeElement.focus();
      return;
    }
    this.done.emit();
  }
}
