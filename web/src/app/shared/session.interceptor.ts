import { HttpErrorResponse, HttpInterceptorFn } from '@angular/common/http';
import { inject } from '@angular/core';
import { Router } from '@angular/router';
import { HttpEvent, HttpHandlerFn, HttpRequest } from '@angular/common/http';
import { Observable, catchError, of, switchMap, throwError } from 'rxjs';
import { ApiError, ApiService, OPTIONAL_SESSION, OWN_UNAUTHORIZED, toApiError } from './api.service';
import { ReauthPrompt } from './reauth';

/** Routes whose 401 is their own answer (wrong password, unknown passkey, expired sign-in step), not an expired session. */
const NOT_REFRESHED = [
  '/auth/login',
  '/auth/register',
  '/auth/2fa/verify-login',
  '/auth/passkey/options',
  '/auth/passkey/login',
  '/auth/refresh',
  '/auth/logout',
];

function isUnauthorized(err: unknown): boolean {
  return err instanceof HttpErrorResponse ? err.status === 401 : toApiError(err).status === 401;
}

/**
 * A 401 that asks for a recent proof (API.md "Recent authentication"):
 * `reauthentication_required`, with `WWW-Authenticate: Bearer error="insufficient_user_authentication"`.
 */
function isReauthenticationRequired(err: unknown): boolean {
  if (!isUnauthorized(err)) return false;
  const header = err instanceof HttpErrorResponse ? (err.headers.get('WWW-Authenticate') ?? '') : '';
  return toApiError(err).code === 'reauthentication_required' || header.includes('insufficient_user_authentication');
}

/**
 * A 401 that says the session is missing or over; `invalid_credentials` (a wrong
 * current password) is not one, nor `reauthentication_required` (the session is
 * fine, the proof is old).
 */
function isSessionEnded(err: unknown): boolean {
  return isUnauthorized(err) && toApiError(err).code !== 'invalid_credentials' && !isReauthenticationRequired(err);
}

/** The route that gives the proof: its own 401s are answers (a wrong password). */
const REAUTHENTICATE = '/auth/reauthenticate';

/** What the request that needed a recent proof fails with when the user cancels the dialog. */
const NOT_CONFIRMED =
  'Not done: this change needs you to confirm it’s you. Try again, and confirm in the dialog.';

/**
 * Cookies only: every request is sent with credentials, and no token is ever
 * read or stored by the client. A 401 from an authenticated route refreshes
 * the session once (concurrent 401s share one refresh) and retries; when that
 * cannot help, the user is sent to sign in. A `401 reauthentication_required`
 * opens the re-authentication dialog (one for all requests waiting); once the
 * user proved themselves the request is sent again, once; cancelled, it fails.
 */
export const sessionInterceptor: HttpInterceptorFn = (req, next) => {
  const request = req.clone({ withCredentials: true });
  const path = new URL(request.url, document.baseURI).pathname;
  if (!path.startsWith('/auth/') || NOT_REFRESHED.includes(path) || request.context.get(OWN_UNAUTHORIZED)) {
    return next(request);
  }
  const reauth = inject(ReauthPrompt);
  const session: Session = { api: inject(ApiService), router: inject(Router) };
  if (path === REAUTHENTICATE) return withRefresh(request, next, session);
  return withRefresh(request, next, session).pipe(
    catchError((err) => {
      if (!isReauthenticationRequired(err)) return throwError(() => err);
      return reauth.confirm().pipe(
        switchMap((proven) =>
          proven
            ? withRefresh(request, next, session)
            : throwError(() => new ApiError(401, 'reauthentication_required', NOT_CONFIRMED, null)),
        ),
      );
    }),
  );
};

interface Session {
  api: ApiService;
  router: Router;
}

/** The request; on a 401 that a refresh may cure, one shared refresh and the request again. */
function withRefresh(
  request: HttpRequest<unknown>,
  next: HttpHandlerFn,
  { api, router }: Session,
): Observable<HttpEvent<unknown>> {
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
