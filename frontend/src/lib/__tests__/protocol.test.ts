import { describe, expect, it } from 'vitest';
import { classify, encodeChat, parseFrame, splitFrame } from '../protocol';

const msg = (id: string, seq?: number) => ({
  messageId: id,
  roomId: 'global',
  type: 'chat',
  userId: 'u1',
  username: 'Ada',
  content: `hello ${id}`,
  timestamp: '2026-11-30T03:21:13.123Z',
  ...(seq !== undefined ? { seq } : {}),
});

describe('splitFrame', () => {
  it('returns the single object of a one-message frame', () => {
    expect(splitFrame(JSON.stringify(msg('a', 1)))).toEqual([msg('a', 1)]);
  });

  it('splits several newline-joined objects in order', () => {
    const frame = [msg('a', 1), msg('b', 2), msg('c', 3)].map((m) => JSON.stringify(m)).join('\n');
    expect(splitFrame(frame).map((o) => (o as { messageId: string }).messageId)).toEqual(['a', 'b', 'c']);
  });

  it('ignores blank lines, CRLF and a trailing newline', () => {
    const frame = `${JSON.stringify(msg('a'))}\r\n\n${JSON.stringify(msg('b'))}\n`;
    expect(splitFrame(frame)).toHaveLength(2);
  });

  it('skips a line that is not JSON without losing its neighbours', () => {
    const frame = `${JSON.stringify(msg('a'))}\n{not json\n${JSON.stringify(msg('b'))}`;
    expect(splitFrame(frame).map((o) => (o as { messageId: string }).messageId)).toEqual(['a', 'b']);
  });

  it('keeps newlines inside content (they are escaped in JSON)', () => {
    const m = { ...msg('a'), content: 'line1\nline2' };
    const out = splitFrame(JSON.stringify(m));
    expect(out).toHaveLength(1);
    expect((out[0] as { content: string }).content).toBe('line1\nline2');
  });

  it('returns nothing for an empty frame', () => {
    expect(splitFrame('')).toEqual([]);
    expect(splitFrame('\n\n')).toEqual([]);
  });
});

describe('classify', () => {
  it('recognises chat, system, join and leave messages and keeps seq', () => {
    for (const type of ['chat', 'system', 'join', 'leave']) {
      const f = classify({ ...msg('x', 7), type });
      expect(f.kind).toBe('message');
      if (f.kind === 'message') {
        expect(f.message.type).toBe(type);
        expect(f.message.seq).toBe(7);
      }
    }
  });

  it('drops seq 0 (means none) and non-numeric seq', () => {
    const a = classify(msg('x', 0));
    const b = classify({ ...msg('y'), seq: 'abc' });
    expect(a.kind === 'message' && a.message.seq).toBe(undefined);
    expect(b.kind === 'message' && b.message.seq).toBe(undefined);
  });

  it('parses ack, error with retryAfterMs, resumed and hello', () => {
    expect(classify({ type: 'ack', nonce: 'n1', messageId: 'm1', seq: 4 })).toEqual({
      kind: 'ack',
      ack: { type: 'ack', nonce: 'n1', messageId: 'm1', seq: 4 },
    });
    const e = classify({ type: 'error', nonce: 'n2', code: 'rate_limited', message: 'slow down', retryAfterMs: 800 });
    expect(e).toEqual({
      kind: 'error',
      error: { type: 'error', nonce: 'n2', code: 'rate_limited', message: 'slow down', retryAfterMs: 800 },
    });
    expect(classify({ type: 'resumed', recovered: false })).toMatchObject({ kind: 'resumed', resumed: { recovered: false } });
    expect(classify({ type: 'resumed', recovered: true, epoch: 12 })).toMatchObject({
      kind: 'resumed',
      resumed: { recovered: true, epoch: '12' },
    });
    expect(classify({ type: 'hello', epoch: 'e9', clientId: 'c' })).toMatchObject({ kind: 'hello', hello: { epoch: 'e9' } });
  });

  it('treats unknown types and non-objects as unknown', () => {
    expect(classify({ type: 'typing', userId: 'u' }).kind).toBe('unknown');
    expect(classify([1, 2]).kind).toBe('unknown');
    expect(classify('x').kind).toBe('unknown');
    expect(classify(null).kind).toBe('unknown');
    expect(classify({ type: 'ack', nonce: 'n' }).kind).toBe('unknown'); // no messageId
  });

  it('parseFrame classifies every object of a batched frame', () => {
    const frame = [msg('a', 1), { type: 'ack', nonce: 'n', messageId: 'a', seq: 1 }, { type: 'future' }]
      .map((o) => JSON.stringify(o))
      .join('\n');
    expect(parseFrame(frame).map((f) => f.kind)).toEqual(['message', 'ack', 'unknown']);
  });
});

describe('encodeChat', () => {
  it('writes type, content and nonce only', () => {
    expect(JSON.parse(encodeChat('hi "there"', 'n-1'))).toEqual({ type: 'chat', content: 'hi "there"', nonce: 'n-1' });
  });
});
