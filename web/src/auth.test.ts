import { describe, expect, it } from 'vitest';
import {
  authFromLogin,
  authFromMe,
  describeAuthError,
  initialAuth,
  mayRead,
  maySwitch,
} from './auth';
import { formatsFor } from './i18n';

describe('authFromMe', () => {
  it('is signed in with the user, CSRF token and permissions', () => {
    const a = authFromMe(200, {
      user: { name: 'alice', role: 'operator' },
      via: 'session',
      csrf_token: 'c1',
      permissions: ['read', 'set_relay'],
    });
    expect(a).toMatchObject({
      status: 'signed_in',
      user: { name: 'alice', role: 'operator' },
      csrf: 'c1',
      permissions: ['read', 'set_relay'],
    });
    expect(a && maySwitch(a)).toBe(true);
  });

  it('asks for a login on 401, needs none from a bridge without auth (404)', () => {
    expect(authFromMe(401, { error: 'unauthorized' })?.status).toBe('required');
    expect(authFromMe(404, null)?.status).toBe('open');
    expect(authFromMe(502, null)).toBeNull();
  });

  it('lets a viewer read but not switch', () => {
    const viewer = authFromMe(200, { user: { name: 'v', role: 'viewer' }, permissions: ['read'] });
    expect(viewer && mayRead(viewer)).toBe(true);
    expect(viewer && maySwitch(viewer)).toBe(false);
  });
});

describe('authFromLogin', () => {
  it('keeps the CSRF token of a successful login', () => {
    const a = authFromLogin(200, { user: { name: 'op', role: 'operator' }, csrf_token: 'x' });
    expect([a.status, a.csrf, a.permissions]).toEqual(['signed_in', 'x', null]);
  });

  it('names what went wrong', () => {
    expect(authFromLogin(401, {}).error).toEqual({ code: 'wrong_password' });
    expect(authFromLogin(429, {}).error).toEqual({ code: 'too_many_attempts' });
    expect(authFromLogin(400, { detail: 'username: too long' }).error).toEqual({
      code: 'bridge_detail',
      detail: 'username: too long',
    });
    expect(authFromLogin(500, '<html>').error).toEqual({ code: 'http_status', status: 500 });
  });

  it('shows nothing until it knows', () => {
    expect(mayRead(initialAuth)).toBe(true);
    expect(mayRead(authFromLogin(401, {}))).toBe(false);
  });
});

describe('describeAuthError', () => {
  it('puts each error in the user language', () => {
    const en = formatsFor({ language: 'en', digits: 'native' });
    const fa = formatsFor({ language: 'fa', digits: 'native' });
    expect(describeAuthError(en.t, { code: 'wrong_password' })).toBe(
      'Wrong user name or password.',
    );
    expect(describeAuthError(en.t, { code: 'http_status', status: 500 })).toContain('HTTP 500');
    expect(describeAuthError(fa.t, { code: 'session_ended' })).toContain('دوباره وارد شوید');
    expect(describeAuthError(fa.t, { code: 'bridge_detail', detail: 'x' })).toBe('x');
  });
});
