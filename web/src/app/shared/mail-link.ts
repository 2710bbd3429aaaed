import { DestroyRef, inject } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { ActivatedRoute } from '@angular/router';
import { filter, map } from 'rxjs';

/**
 * The token of a mail's link, `…/verify-email#token=…` or `…/reset-password#token=…`.
 * The API puts it in the fragment, which no browser sends to a server, so it
 * reaches no log and no Referer. Read it from there only (never the query
 * string), once, and take the fragment out of the address bar at once
 * (history.replaceState keeps the router's state), so the token stays out of
 * the history, bookmarks and a later "way back". Never log it.
 */
export function takeLinkToken(): string | null {
  const { hash, pathname, search } = window.location;
  if (!hash) return null;
  const token = new URLSearchParams(hash.slice(1)).get('token')?.trim() ?? '';
  history.replaceState(history.state, '', pathname + search);
  return token || null;
}

/**
 * Calls `open` with the token of the link the page was opened with (null: none),
 * and again with each further link opened in the same tab: the page stays the
 * same then, only its fragment changes. Call it in a page's constructor.
 */
export function onLinkToken(open: (token: string | null) => void): void {
  inject(ActivatedRoute)
    .fragment.pipe(
      filter((fragment, index) => index === 0 || fragment !== null),
      map(() => takeLinkToken()),
      takeUntilDestroyed(inject(DestroyRef)),
    )
    .subscribe(open);
}
