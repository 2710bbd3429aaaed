import { CanDeactivateFn } from '@angular/router';

/** A page that may be showing backup codes that the user has not yet said are saved. */
export interface ShowsBackupCodes {
  hasUnsavedCodes(): boolean;
}

/** Backup codes are shown once: leaving before "I saved them" asks first. */
export const confirmLeavingUnsavedCodes: CanDeactivateFn<ShowsBackupCodes> = (page) =>
  !page.hasUnsavedCodes() ||
  window.confirm('You have not confirmed that you saved your backup codes, and they will not be shown again. Leave anyway?');
