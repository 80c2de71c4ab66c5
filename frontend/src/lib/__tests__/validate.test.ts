import { describe, expect, it } from 'vitest';
import { codePointLength, contentError, isValidRoom, MAX_CONTENT, roomError, usernameError } from '../validate';

describe('room validation (like the relay: 1-64 of [A-Za-z0-9._:-])', () => {
  const rows: Array<[string, boolean]> = [
    ['global', true],
    ['a', true],
    ['Room-1_x.y:z', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['', false],
    ['has space', false],
    ['slash/room', false],
    ['émoji', false],
    ['room?x=1', false],
    ['room#1', false],
    ['tab\t', false],
  ];
  for (const [room, ok] of rows) {
    it(`${JSON.stringify(room.length > 20 ? `${room.slice(0, 8)}…(${room.length})` : room)} -> ${ok}`, () => {
      expect(isValidRoom(room)).toBe(ok);
      expect(roomError(room) === null).toBe(ok);
    });
  }
});

describe('codePointLength', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('abc')).toBe(3);
    expect(codePointLength('é')).toBe(1);
    expect(codePointLength('😀')).toBe(1); // surrogate pair
    expect('😀'.length).toBe(2);
    expect(codePointLength('a😀b😀')).toBe(4);
    expect(codePointLength('日本語')).toBe(3);
  });

  it('counts a lone surrogate as one', () => {
    expect(codePointLength('\ud83d')).toBe(1);
    expect(codePointLength('\ude00x')).toBe(2);
  });
});

describe('contentError', () => {
  it('accepts up to 1000 code points, emoji counting once', () => {
    expect(contentError('x'.repeat(MAX_CONTENT))).toBeNull();
    expect(contentError('😀'.repeat(MAX_CONTENT))).toBeNull();
    expect(contentError('x'.repeat(MAX_CONTENT + 1))).toMatch(/Too long by 1/);
  });
  it('refuses empty, whitespace-only and control characters, allows tab and newline', () => {
    expect(contentError('')).not.toBeNull();
    expect(contentError('   \n')).not.toBeNull();
    expect(contentError('a\u0001b')).not.toBeNull();
    expect(contentError('a\u007fb')).not.toBeNull();
    expect(contentError('a\tb\nc')).toBeNull();
  });
});

describe('usernameError', () => {
  it('requires 1-50 code points without controls and refuses System in any case', () => {
    expect(usernameError('Ada')).toBeNull();
    expect(usernameError('')).not.toBeNull();
    expect(usernameError('   ')).not.toBeNull();
    expect(usernameError('x'.repeat(50))).toBeNull();
    expect(usernameError('x'.repeat(51))).not.toBeNull();
    expect(usernameError('😀'.repeat(50))).toBeNull();
    expect(usernameError('sYsTeM')).not.toBeNull();
    expect(usernameError('a\nb')).not.toBeNull();
  });
});
