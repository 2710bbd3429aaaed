import { Observable, defer, of, switchMap } from 'rxjs';
import { ApiError, AssertionCeremony, PasskeyProof } from './api.service';

// The browser's side of a passkey (WebAuthn Level 3's JSON forms): the API's
// options go to PublicKeyCredential.parse…FromJSON unchanged, and the
// credential comes back as credential.toJSON(). What the browser refuses
// becomes an ApiError (status 0) with a sentence for the error line.

/** Whether this browser can use passkeys the way the API hands them over (the JSON forms). */
export function passkeysSupported(): boolean {
  return (
    typeof window !== 'undefined' &&
    typeof window.PublicKeyCredential === 'function' &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function' &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
    !!navigator.credentials
  );
}

/**
 * Whether this browser offers passkeys in a field's autofill (`autocomplete="…
 * webauthn"`): a conditional request may then wait for the person to pick one.
 */
export async function conditionalMediationAvailable(): Promise<boolean> {
  if (!passkeysSupported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') return false;
  try {
    return await PublicKeyCredential.isConditionalMediationAvailable();
  } catch {
    return false;
  }
}

/**
 * How the browser asks: a modal request (the default), or `conditional` (the
 * passkeys offered in the autofill of a field, waiting until one is picked);
 * `signal` stops a request still waiting (the browser runs one at a time).
 */
export interface AssertionRequest {
  mediation?: 'conditional';
  signal?: AbortSignal;
}

const UNSUPPORTED = new ApiError(0, 'passkey_unsupported', 'This browser cannot use passkeys. Use a code instead.', null);

/** The person cancelled the browser's dialog (or it timed out), or the page stopped a waiting request: nothing went wrong. */
export function passkeyCancelled(error: ApiError): boolean {
  return error.code === 'passkey_cancelled' || error.code === 'passkey_aborted';
}

/** The browser's refusals, in words. */
function browserError(err: unknown, creating: boolean): ApiError {
  const name = err instanceof DOMException ? err.name : '';
  switch (name) {
    case 'NotAllowedError':
      return new ApiError(
        0,
        'passkey_cancelled',
        creating
          ? 'No passkey was created: the request was cancelled or timed out. Try again.'
          : 'No passkey was used: the request was cancelled or timed out, or this device has no passkey for your account. Try again.',
        null,
      );
    case 'InvalidStateError':
      return new ApiError(0, 'passkey_exists', 'This device already holds a passkey for your account.', null);
    case 'SecurityError':
      return new ApiError(0, 'passkey_refused', 'Passkeys do not work at this address.', null);
    case 'NotSupportedError':
      return UNSUPPORTED;
    case 'AbortError':
      return new ApiError(0, 'passkey_aborted', 'The passkey request was stopped.', null);
    default:
      return new ApiError(0, 'passkey_failed', 'The passkey did not work. Try again.', null);
  }
}

/** A new credential for the registration options (`navigator.credentials.create`), as JSON. */
export function createPasskey(publicKey: PublicKeyCredentialCreationOptionsJSON): Observable<unknown> {
  return defer(async () => {
    if (!passkeysSupported()) throw UNSUPPORTED;
    let credential: Credential | null;
    try {
      credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey),
      });
    } catch (err) {
      throw browserError(err, true);
    }
    if (!(credential instanceof PublicKeyCredential)) throw browserError(null, true);
    return credential.toJSON();
  });
}

/** An assertion for the challenge (`navigator.credentials.get`): the proof the API's routes take. */
export function assertPasskey(ceremony: AssertionCeremony, request: AssertionRequest = {}): Observable<PasskeyProof> {
  return defer(async () => {
    if (!passkeysSupported()) throw UNSUPPORTED;
    let credential: Credential | null;
    try {
      credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(ceremony.publicKey),
        ...(request.mediation ? { mediation: request.mediation } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (err) {
      throw browserError(err, false);
    }
    if (!(credential instanceof PublicKeyCredential)) throw browserError(null, false);
    return { passkey: { ceremonyId: ceremony.ceremonyId, credential: credential.toJSON() } };
  });
}

/** A challenge from `ask`, then the browser's assertion for it. */
export function provePasskey(ask: Observable<AssertionCeremony>, request: AssertionRequest = {}): Observable<PasskeyProof> {
  return ask.pipe(switchMap((ceremony) => assertPasskey(ceremony, request)));
}

/**
 * A ceremony asked for ahead (the 2FA and reset pages ask on arrival, to know
 * whether to offer a passkey): used for the first try while it is fresh, a
 * new one for every later try (a ceremony is used up whatever the outcome,
 * and lives 5 minutes).
 */
export class PrefetchedCeremony {
  private ceremony: AssertionCeremony | null = null;
  private at = 0;

  constructor(private readonly ask: () => Observable<AssertionCeremony>) {}

  set(ceremony: AssertionCeremony): void {
    this.ceremony = ceremony;
    this.at = Date.now();
  }

  /** The kept ceremony once (if under 4 minutes old), else a new one. */
  take(): Observable<AssertionCeremony> {
    const kept = this.ceremony;
    this.ceremony = null;
    if (kept && Date.now() - this.at < 4 * 60_000) return of(kept);
    return this.ask();
  }

  /** Take a ceremony and prove it with the browser's passkey. */
  prove(): Observable<PasskeyProof> {
    return provePasskey(defer(() => this.take()));
  }
}
