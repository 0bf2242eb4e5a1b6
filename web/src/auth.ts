// Who the dashboard is logged in as (the bridge's session login, docs/api.md). Pure: the
// client feeds it the HTTP answers of /api/auth/me and /api/auth/login.
import type { TFunction } from 'i18next';

export type AuthStatus =
  | 'checking' // not known yet
  | 'open' // the bridge has no login (an older bridge): everything is allowed
  | 'required' // the bridge wants a login
  | 'signed_in';

/** Why a login failed, as data: the login form puts it in the user's language. */
export type AuthError =
  | { code: 'wrong_password' | 'too_many_attempts' | 'session_ended' }
  | { code: 'http_status'; status: number }
  | { code: 'unreachable'; error: string }
  /** The bridge's own explanation (a 400's `detail`), shown as it came. */
  | { code: 'bridge_detail'; detail: string };

export interface AuthState {
  status: AuthStatus;
  user: { name: string; role: string } | null;
  /** Sent as X-CSRF-Token with every POST of a logged-in session. */
  csrf: string | null;
  /** null when the bridge did not say (then the bridge alone decides). */
  permissions: string[] | null;
  error: AuthError | null;
  busy: boolean;
}

export const initialAuth: AuthState = {
  status: 'checking',
  user: null,
  csrf: null,
  permissions: null,
  error: null,
  busy: false,
};

export const requiredAuth = (error: AuthError | null = null): AuthState => ({
  ...initialAuth,
  status: 'required',
  error,
});

const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

function signedIn(body: unknown, permissions: string[] | null): AuthState {
  const b = record(body);
  const user = record(b.user);
  return {
    ...initialAuth,
    status: 'signed_in',
    user: {
      name: typeof user.name === 'string' ? user.name : '?',
      role: typeof user.role === 'string' ? user.role : '?',
    },
    csrf: typeof b.csrf_token === 'string' ? b.csrf_token : null,
    permissions,
  };
}

const stringList = (v: unknown): string[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;

/** From the answer of GET /api/auth/me; null when it tells nothing (e.g. the bridge is down). */
export function authFromMe(status: number, body: unknown): AuthState | null {
  if (status === 200) return signedIn(body, stringList(record(body).permissions));
  if (status === 401) return requiredAuth();
  if (status === 404) return { ...initialAuth, status: 'open' };
  return null;
}

/** From the answer of POST /api/auth/login. */
export function authFromLogin(status: number, body: unknown): AuthState {
  if (status === 200) {
    // The login answer has no permission list; /api/auth/me fills it in.
    return signedIn(body, null);
  }
  if (status === 401) return requiredAuth({ code: 'wrong_password' });
  if (status === 429) return requiredAuth({ code: 'too_many_attempts' });
  const detail = record(body).detail;
  return requiredAuth(
    typeof detail === 'string'
      ? { code: 'bridge_detail', detail }
      : { code: 'http_status', status },
  );
}

export const mayRead = (auth: AuthState): boolean =>
  auth.status === 'open' || auth.status === 'signed_in' || auth.status === 'checking';

export const maySwitch = (auth: AuthState): boolean =>
  auth.status !== 'required' &&
  (auth.permissions === null || auth.permissions.includes('set_relay'));

/** The login form's sentence for an error, in the user's language. */
export function describeAuthError(t: TFunction, error: AuthError): string {
  switch (error.code) {
    case 'wrong_password':
      return t('login.wrongPassword');
    case 'too_many_attempts':
      return t('login.tooManyAttempts');
    case 'session_ended':
      return t('login.sessionEnded');
    case 'http_status':
      return t('login.httpStatus', { status: error.status });
    case 'unreachable':
      return t('login.unreachable', { error: error.error });
    case 'bridge_detail':
      return error.detail;
  }
}
