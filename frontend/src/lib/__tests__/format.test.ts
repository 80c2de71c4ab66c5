import { describe, expect, it } from 'vitest';
import {
  countdownSeconds,
  formatAgo,
  formatBytes,
  formatClock,
  formatCompact,
  formatDuration,
  formatMs,
  formatNumber,
  humanize,
  initials,
} from '../format';
import { hashString, userColor, userHue } from '../colors';

describe('numbers', () => {
  it('formatNumber groups thousands and shows a dash for missing values', () => {
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(undefined)).toBe('—');
    expect(formatNumber(Number.NaN)).toBe('—');
  });
  it('formatCompact', () => {
    expect(formatCompact(999)).toBe('999');
    expect(formatCompact(1000)).toBe('1k');
    expect(formatCompact(1250)).toBe('1.3k');
    expect(formatCompact(2_500_000)).toBe('2.5M');
    expect(formatCompact(3_000_000_000)).toBe('3B');
  });
  it('formatMs picks a precision by magnitude', () => {
    expect(formatMs(0.4213)).toBe('0.42 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(250.4)).toBe('250 ms');
    expect(formatMs(1200)).toBe('1.20 s');
    expect(formatMs(null)).toBe('—');
  });
  it('formatBytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10.0 MiB');
  });
});

describe('durations and times', () => {
  it('formatDuration', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(61)).toBe('1m 01s');
    expect(formatDuration(3600 + 5 * 60)).toBe('1h 05m');
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3d 4h');
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(null)).toBe('—');
  });
  it('countdownSeconds rounds up and never goes negative', () => {
    expect(countdownSeconds(2001)).toBe(3);
    expect(countdownSeconds(2000)).toBe(2);
    expect(countdownSeconds(1)).toBe(1);
    expect(countdownSeconds(0)).toBe(0);
    expect(countdownSeconds(-500)).toBe(0);
  });
  it('formatAgo', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(formatAgo('2026-11-30T11:59:58Z', now)).toBe('just now');
    expect(formatAgo('2026-11-30T11:59:30Z', now)).toBe('30s ago');
    expect(formatAgo('2026-11-30T11:55:00Z', now)).toBe('5m ago');
    expect(formatAgo('2026-11-30T09:00:00Z', now)).toBe('3h ago');
    expect(formatAgo('2026-11-28T12:00:00Z', now)).toBe('2d ago');
    expect(formatAgo('garbage', now)).toBe('—');
  });
  it('formatClock shows HH:MM for today and adds the day otherwise', () => {
    const now = new Date(2026, 10, 30, 15, 0, 0);
    expect(formatClock(new Date(2026, 10, 30, 9, 5).toISOString(), now)).toBe('09:05');
    expect(formatClock(new Date(2026, 10, 29, 23, 59).toISOString(), now)).toBe('Nov 29, 23:59');
    expect(formatClock('nope', now)).toBe('');
  });
});

describe('names and colors', () => {
  it('initials', () => {
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('ada')).toBe('AD');
    expect(initials('  grace   brewster  hopper ')).toBe('GH');
    expect(initials('😀x')).toBe('😀X');
    expect(initials('')).toBe('?');
  });
  it('humanize', () => {
    expect(humanize('rejectedRateLimited')).toBe('Rejected rate limited');
    expect(humanize('relayRssBytes')).toBe('Relay rss bytes');
  });
  it('userColor is stable per user id and spreads users over the wheel', () => {
    expect(userColor('alice')).toBe(userColor('alice'));
    expect(userColor('bob')).toMatch(/^hsl\(\d+ 85% \d+%\)$/);
    expect(userColor('bob', 0.15)).toMatch(/ \/ 0.15\)$/);
    expect(hashString('a')).not.toBe(hashString('b'));
    const hues = new Set(Array.from({ length: 100 }, (_, i) => userHue(`user-${i}`)));
    expect(hues.size).toBeGreaterThan(80);
  });
});
