// @vitest-environment jsdom
// useChat against a fake WebSocket: frames in, sends out, acks, errors, reconnect with since=.
import { act, cleanup, renderHook, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toRows } from '../../lib/messageLog';
import { useChat } from '../useChat';

class FakeWS {
  static all: FakeWS[] = [];
  readyState = 0;
  url: string;
  sent: string[] = [];
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  constructor(url: string) {
    this.url = url;
    FakeWS.all.push(this);
  }
  send(d: string) {
    this.sent.push(d);
  }
  close() {
    this.readyState = 3;
  }
  // server side
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(...objs: unknown[]) {
    this.onmessage?.({ data: objs.map((o) => JSON.stringify(o)).join('\n') });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  get params() {
    return new URL(this.url).searchParams;
  }
}

const msg = (id: string, seq: number, userId = 'u2', content = id) => ({
  messageId: id,
  roomId: 'lobby',
  type: 'chat',
  userId,
  username: userId,
  content,
  timestamp: '2026-11-30T03:00:00.000Z',
  seq,
});

beforeEach(() => {
  FakeWS.all = [];
  vi.stubGlobal('WebSocket', FakeWS);
  // auth off: /api/token is 404; the rest of the API is not needed here
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => new Response(JSON.stringify({ error: 'not found' }), { status: 404 })),
  );
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const lastSocket = () => FakeWS.all[FakeWS.all.length - 1]!;
const texts = (r: { current: ReturnType<typeof useChat> }) =>
  toRows(r.current.log).map((row) => (row.kind === 'message' ? row.message.content : `(${row.item.status}) ${row.item.content}`));

describe('useChat', () => {
  it('connects, shows a batched frame, de-duplicates, and tracks its own sends to the ack', async () => {
    const { result } = renderHook(() => useChat('lobby', { userId: 'me', username: 'Me' }));
    await waitFor(() => expect(FakeWS.all).toHaveLength(1));
    const ws = lastSocket();
    expect(ws.params.get('room')).toBe('lobby');
    expect(ws.params.get('userId')).toBe('me');
    act(() => ws.open());
    expect(result.current.conn.status).toBe('open');

    act(() => ws.frame({ type: 'hello', epoch: 7, userId: 'me' }, msg('a', 1), msg('b', 2), msg('a', 1)));
    expect(texts(result)).toEqual(['a', 'b']);

    act(() => result.current.send('my words'));
    expect(texts(result)).toEqual(['a', 'b', '(pending) my words']);
    const out = JSON.parse(ws.sent[0]!) as { type: string; content: string; nonce: string };
    expect(out).toMatchObject({ type: 'chat', content: 'my words' });
    expect(out.nonce).toBeTruthy();

    act(() => ws.frame({ type: 'ack', nonce: out.nonce, messageId: 'mine', seq: 3 }, msg('mine', 3, 'me', 'my words')));
    expect(texts(result)).toEqual(['a', 'b', 'my words']);
    expect(result.current.log.outbox).toHaveLength(0);
  });

  it('shows a refusal on the send it belongs to, and a refusal without nonce as a notice', async () => {
    const { result } = renderHook(() => useChat('lobby', { userId: 'me', username: 'Me' }));
    await waitFor(() => expect(FakeWS.all).toHaveLength(1));
    const ws = lastSocket();
    act(() => ws.open());
    act(() => result.current.send('too fast'));
    const { nonce } = JSON.parse(ws.sent[0]!) as { nonce: string };
    act(() => ws.frame({ type: 'error', nonce, code: 'rate_limited', message: 'slow down', retryAfterMs: 900 }));
    expect(result.current.log.outbox[0]).toMatchObject({ status: 'failed', error: { code: 'rate_limited', message: 'slow down' } });
    act(() => ws.frame({ type: 'error', code: 'invalid_json', message: 'bad frame' }));
    expect(texts(result)).toContain('bad frame');

    // retry goes out with a new nonce
    act(() => result.current.retry(result.current.log.outbox[0]!.localId));
    const again = JSON.parse(ws.sent[1]!) as { nonce: string; content: string };
    expect(again.content).toBe('too fast');
    expect(again.nonce).not.toBe(nonce);
    expect(result.current.log.outbox[0]!.status).toBe('pending');
  });

  it('after a drop it reconnects with since=<last seq> and epoch, resends what is pending, and flags recovered:false', async () => {
    const { result } = renderHook(() => useChat('lobby', { userId: 'me', username: 'Me' }));
    await waitFor(() => expect(FakeWS.all).toHaveLength(1));
    const ws1 = lastSocket();
    act(() => ws1.open());
    act(() => ws1.frame({ type: 'hello', epoch: 'E', userId: 'me' }, msg('a', 10), msg('b', 11)));
    act(() => ws1.drop(1001));
    expect(result.current.conn.status).toBe('waiting');

    // typed while down: pending, not sent yet
    act(() => result.current.send('queued'));
    expect(ws1.sent).toHaveLength(0);

    act(() => result.current.reconnectNow());
    await waitFor(() => expect(FakeWS.all).toHaveLength(2));
    const ws2 = lastSocket();
    expect(ws2.params.get('since')).toBe('11');
    expect(ws2.params.get('epoch')).toBe('E');
    act(() => ws2.open());
    expect(ws2.sent.map((s) => (JSON.parse(s) as { content: string }).content)).toEqual(['queued']);

    // the replay overlaps what we had: nothing twice
    act(() => ws2.frame(msg('b', 11), msg('c', 12), { type: 'resumed', recovered: true }));
    expect(texts(result)).toEqual(['a', 'b', 'c', '(pending) queued']);
    expect(result.current.gap).toBe(false);
    act(() => ws2.frame({ type: 'resumed', recovered: false }));
    expect(result.current.gap).toBe(true);
  });

  it('adds join and leave events to presence', async () => {
    const { result } = renderHook(() => useChat('lobby', { userId: 'me', username: 'Me' }));
    await waitFor(() => expect(FakeWS.all).toHaveLength(1));
    const ws = lastSocket();
    act(() => ws.open());
    act(() =>
      ws.frame(
        { ...msg('j1', 1, 'bob'), type: 'join', timestamp: '2026-11-30T03:00:01.000Z' },
        { ...msg('j2', 2, 'eve'), type: 'join', timestamp: '2026-11-30T03:00:02.000Z' },
        { ...msg('l1', 3, 'eve'), type: 'leave', timestamp: '2026-11-30T03:00:03.000Z' },
      ),
    );
    expect(result.current.presence.get('bob')?.present).toBe(true);
    expect(result.current.presence.get('eve')?.present).toBe(false);
  });
});
