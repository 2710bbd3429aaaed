import { HttpErrorResponse, HttpInterceptorFn } from '@angular/common/http';
import { inject } from '@angular/core';
import { Router } from '@angular/router';
import { catchError, of, switchMap, throwError } from 'rxjs';
import { ApiService, OPTIONAL_SESSION, toApiError } from './api.service';

/** Routes whose 401 is their own answer (wrong password, expired sign-in step), not an expired session. */
const NOT_REFRESHED = ['/auth/login', '/auth/register', '/auth/2fa/verify-login', '/auth/refresh', '/auth/logout'];

function isUnauthorized(err: unknown): boolean {
  return err instanceof HttpErrorResponse ? err.status === 401 : toApiError(err).status === 401;
}

/** A 401 that says the session is missing or over; `invalid_credentials` (a wrong current password) is not one. */
function isSessionEnded(err: unknown): boolean {
  return isUnauthorized(err) && toApiError(err).code !== 'invalid_credentials';
}

/**
 * Cookies only: every request is sent with credentials, and no token is ever
 * read or stored by the client. A 401 from an authenticated route refreshes
 * the session once (concurrent 401s share one refresh) and retries; when that
 * cannot help, the user is sent to sign in.
 */
export const sessionInterceptor: HttpInterceptorFn = (req, next) => {
  const request = req.clone({ withCredentials: true });
  const path = new URL(request.url, document.baseURI).pathname;
  if (!path.startsWith('/auth/') || NOT_REFRESHED.includes(path)) return next(request);

  const api = inject(ApiService);
  const router = inject(Router);
  const refreshesBefore = api.refreshCount;

  const sendToSignIn = () => {
    // "Your session has ended" only to someone this tab knew as signed in, not to a first visit.
    const hadSession = api.user() !== null;
    api.user.set(null);
    if (request.context.get(OPTIONAL_SESSION)) return; // the page works signed out too
    // Never a fragment in the way back: it may hold a mail link's token.
    const current = router.url.split('#')[0];
    const pending = router.currentNavigation()?.extractedUrl.toString() ?? '';
    if (current.startsWith('/sign-in') || pending.startsWith('/sign-in')) return; // concurrent 401s: one trip
    const queryParams = {
      reason: hadSession ? 'signed-out' : undefined,
      returnUrl: current === '/' || current === '/security' ? undefined : current,
    };
    void router.navigate(['/sign-in'], { queryParams });
  };

  return next(request).pipe(
    catchError((first) => {
      if (!isSessionEnded(first)) return throwError(() => first);
      // A refresh that finished after this request left needs no second one.
      const refreshed = api.refreshCount !== refreshesBefore ? of(undefined) : api.refreshSession();
      return refreshed.pipe(
        catchError((refreshError) => {
          if (isUnauthorized(refreshError)) {
            sendToSignIn();
            return throwError(() => first);
          }
          return throwError(() => refreshError); // 503, network: the page says "try again"
        }),
        switchMap(() =>
          next(request).pipe(
            catchError((second) => {
              if (isSessionEnded(second)) sendToSignIn();
              return throwError(() => second);
            }),
          ),
        ),
      );
    }),
  );
};
