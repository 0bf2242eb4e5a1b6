import { describe, expect, it } from 'vitest';
import { awaitsSocket, indicator, type Mode, nextMode, polls } from './connection';
import { formatsFor } from './i18n';

const en = formatsFor({ language: 'en', digits: 'native' });

const fresh = { realtimeFreshMs: 45000, pollFreshMs: 5000 };

describe('nextMode', () => {
  it('goes real-time whenever the socket connects, from any mode', () => {
    for (const m of ['connecting', 'reconnecting', 'fallback', 'realtime'] as Mode[]) {
      expect(nextMode(m, 'socket_up')).toBe('realtime');
    }
  });

  it('reconnects after losing the socket, then falls back to HTTP when the timer fires', () => {
    const lost = nextMode('realtime', 'socket_down');
    expect(lost).toBe('reconnecting');
    expect(awaitsSocket(lost)).toBe(true);
    const fallback = nextMode(lost, 'fallback_timeout');
    expect(fallback).toBe('fallback');
    expect(polls(fallback)).toBe(true);
  });

  it('falls back when the first connection never comes', () => {
    expect(nextMode('connecting', 'fallback_timeout')).toBe('fallback');
    expect(nextMode('connecting', 'socket_down')).toBe('connecting');
  });

  it('ignores a late fallback timer once connected, and stays in fallback on socket errors', () => {
    expect(nextMode('realtime', 'fallback_timeout')).toBe('realtime');
    expect(nextMode('fallback', 'socket_down')).toBe('fallback');
    expect(polls('realtime')).toBe(false);
  });
});

describe('indicator', () => {
  it('says real-time and live when data is current', () => {
    expect(indicator(en, 'realtime', 1000, 2000, fresh, null)).toEqual({
      label: 'Real-time Connected',
      tone: 'ok',
      age: 'live',
      ageTitle: '1970-01-01 00:00:01 UTC',
      hasData: true,
      stale: false,
      detail: null,
      detailTitle: null,
    });
  });

  it('does not call the data live while a gateway is silent, and names it with the time', () => {
    const silent = [{ name: 'Line 1', since: 1764556265 }];
    const ind = indicator(en, 'realtime', 1000, 2000, fresh, null, false, silent);
    expect([ind.label, ind.tone, ind.age]).toEqual([
      'Real-time Connected',
      'warn',
      '1 gateway silent',
    ]);
    expect(ind.detail).toBe('silent: Line 1');
    expect(ind.detailTitle).toBe('Line 1: nothing received since 2025-12-01 02:31:05 UTC');
    const two = indicator(en, 'realtime', 1000, 2000, fresh, null, false, [
      ...silent,
      { name: 'B', since: null },
    ]);
    expect([two.age, two.detail]).toEqual(['2 gateways silent', 'silent: Line 1, B']);
  });

  it('shows the age of the newest data once it is stale', () => {
    const ind = indicator(en, 'reconnecting', 0, 12_400, fresh, null);
    expect(ind.label).toBe('Reconnecting…');
    expect(ind.age).toBe('12 s old');
    expect(ind.stale).toBe(true);
  });

  it('is red in fallback and names why the bridge is unreachable', () => {
    const ok = indicator(en, 'fallback', 0, 1000, fresh, null);
    expect([ok.label, ok.tone, ok.age]).toEqual(['HTTP Fallback Mode', 'error', 'live']);
    const down = indicator(en, 'fallback', 0, 30_000, fresh, 'http_502');
    expect(down.age).toBe('30 s old');
    expect(down.detail).toBe('The bridge answered HTTP 502; the page keeps trying.');
    // Nothing answers at all: a sentence, not the browser's "Failed to fetch".
    expect(indicator(en, 'fallback', 0, 30_000, fresh, 'unreachable').detail).toBe(
      'The bridge cannot be reached (the network or the bridge is down); the page keeps trying.',
    );
  });

  it('has no age before the first data', () => {
    const ind = indicator(en, 'connecting', null, 1, fresh, null);
    expect([ind.label, ind.age, ind.stale]).toEqual(['Connecting…', 'no data yet', true]);
  });

  it('says "Logged out" while the bridge wants a login, whatever the socket does', () => {
    const ind = indicator(
      en,
      'fallback',
      0,
      60_000,
      fresh,
      'GET api/state answered HTTP 401',
      true,
    );
    expect([ind.label, ind.tone, ind.stale]).toEqual(['Logged out', 'warn', false]);
  });

  it('speaks Persian, with Persian digits and the Solar Hijri date', () => {
    const fa = formatsFor({ language: 'fa', digits: 'native' });
    const silent = [{ name: 'خط ۱', since: 1764556265 }];
    const ind = indicator(fa, 'realtime', 1000, 2000, fresh, null, false, silent);
    expect([ind.label, ind.age]).toEqual(['اتصال بی‌درنگ برقرار است', '۱ دروازه ساکت است']);
    expect(ind.detailTitle).toBe('خط ۱: از ۱۰ آذر ۱۴۰۴ ساعت ۰۲:۳۱:۰۵ (UTC) چیزی دریافت نشده');
  });
});
