import { describe, expect, it } from 'vitest';
import { ChatConnection, type ConnState, type ConnectionDeps, type SocketLike } from '../connection';
import type { ServerFrame } from '../protocol';

class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: string[] = [];
  closedWith: number | undefined;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }
  send(d: string) {
    this.sent.push(d);
  }
  close(code?: number) {
    this.closedWith = code ?? 1005;
    this.readyState = 3;
  }
  // server side
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(...objs: unknown[]) {
    this.onmessage?.({ data: objs.map((o) => JSON.stringify(o)).join('\n') });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  query() {
    return new URL(this.url).searchParams;
  }
}

/** A manual clock: timers fire only when advance() passes them. */
function harness(opts: { token?: string | null; random?: number } = {}) {
  let now = 1_000_000;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const sockets: FakeSocket[] = [];
  const states: ConnState[] = [];
  const frames: ServerFrame[] = [];
  const opens: boolean[] = [];
  const deps: ConnectionDeps = {
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => {
      timers.delete(h as number);
    },
    now: () => now,
    random: () => opts.random ?? 1,
    getToken: async () => opts.token ?? null,
  };
  const conn = new ChatConnection(
    {
      wsBase: 'ws://example.test/ws',
      room: 'global',
      userId: 'u1',
      username: 'Ada',
      backoff: { baseMs: 500, maxMs: 4000, factor: 2, jitter: 0.5 },
      connectTimeoutMs: 10_000,
      stableAfterMs: 5000,
    },
    deps,
    {
      onState: (s) => states.push(s),
      onFrames: (f) => frames.push(...f),
      onOpen: ({ resumed }) => opens.push(resumed),
    },
  );
  const flush = () => new Promise<void>((r) => setTimeout(r, 0)); // lets the token promise settle
  const advance = async (ms: number) => {
    const until = now + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      now = due[1].at;
      due[1].fn();
      await flush();
    }
    now = until;
  };
  const last = () => sockets[sockets.length - 1]!;
  return { conn, sockets, states, frames, opens, flush, advance, last, timers, get now() { return now; } };
}

const chat = (id: string, seq: number, roomId = 'global') => ({
  messageId: id,
  roomId,
  type: 'chat',
  userId: 'u2',
  username: 'Bob',
  content: id,
  timestamp: '2026-11-30T03:00:00.000Z',
  seq,
});

describe('ChatConnection', () => {
  it('connects with userId, username and room, and no since on the first attempt', async () => {
    const h = harness();
    h.conn.start();
    await h.flush();
    const q = h.last().query();
    expect(q.get('userId')).toBe('u1');
    expect(q.get('username')).toBe('Ada');
    expect(q.get('room')).toBe('global');
    expect(q.has('since')).toBe(false);
    expect(q.has('token')).toBe(false);
    h.last().open();
    expect(h.conn.state.status).toBe('open');
    expect(h.opens).toEqual([false]);
  });

  it('passes the token from getToken when auth is on', async () => {
    const h = harness({ token: 'tok.abc' });
    h.conn.start();
    await h.flush();
    expect(h.last().query().get('token')).toBe('tok.abc');
  });

  it('splits batched frames and tracks the highest seq of its room only', async () => {
    const h = harness();
    h.conn.start();
    await h.flush();
    h.last().open();
    h.last().deliver(chat('a', 1), chat('b', 2), chat('x', 99, 'other'), { type: 'whatever' });
    expect(h.frames.map((f) => f.kind)).toEqual(['message', 'message', 'message', 'unknown']);
    expect(h.conn.lastSeq).toBe(2);
  });

  it('reconnects after a drop with backoff, then resumes with since=<last seq> and the epoch', async () => {
    const h = harness({ random: 1 });
    h.conn.start();
    await h.flush();
    h.last().open();
    h.last().deliver({ type: 'hello', epoch: 'E1' }, chat('a', 41), chat('b', 42));
    h.last().drop(1001);
    expect(h.conn.state).toMatchObject({ status: 'waiting', attempt: 1, lastClose: { code: 1001 } });
    expect(h.conn.state.retryAt).toBe(h.now + 500);
    expect(h.sockets).toHaveLength(1);
    await h.advance(499);
    expect(h.sockets).toHaveLength(1);
    await h.advance(1);
    expect(h.sockets).toHaveLength(2);
    const q = h.last().query();
    expect(q.get('since')).toBe('42');
    expect(q.get('epoch')).toBe('E1');
    h.last().open();
    expect(h.opens).toEqual([false, true]);
  });

  it('grows the delay while attempts keep failing, capped, and keeps trying forever', async () => {
    const h = harness({ random: 1 });
    h.conn.start();
    await h.flush();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      h.last().drop();
      delays.push(h.conn.state.retryAt! - h.now);
      await h.advance(delays[delays.length - 1]!);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000, 4000, 4000, 4000]);
    expect(h.sockets).toHaveLength(9);
    expect(h.conn.state.status).toBe('connecting');
  });

  it('resets the backoff only after the connection stayed up', async () => {
    const h = harness({ random: 1 });
    h.conn.start();
    await h.flush();
    h.last().drop();
    await h.advance(500);
    h.last().drop();
    await h.advance(1000);
    // opens and drops at once: the delay keeps growing
    h.last().open();
    h.last().drop();
    expect(h.conn.state.retryAt! - h.now).toBe(2000);
    await h.advance(2000);
    h.last().open();
    await h.advance(5000); // stable
    expect(h.conn.state.attempt).toBe(0);
    h.last().drop();
    expect(h.conn.state.retryAt! - h.now).toBe(500);
  });

  it('reconnectNow skips the countdown', async () => {
    const h = harness();
    h.conn.start();
    await h.flush();
    h.last().drop();
    expect(h.conn.state.status).toBe('waiting');
    h.conn.reconnectNow();
    await h.flush();
    expect(h.sockets).toHaveLength(2);
    expect(h.conn.state.status).toBe('connecting');
    // the old timer must not start a third socket
    await h.advance(10_000 - 1);
    expect(h.sockets).toHaveLength(2);
  });

  it('gives up on a socket that never opens and retries', async () => {
    const h = harness();
    h.conn.start();
    await h.flush();
    await h.advance(10_000);
    expect(h.sockets[0]!.closedWith).toBeDefined();
    expect(h.conn.state.status).toBe('waiting');
  });

  it('forgets the seq when the relay announces a new epoch (its numbering restarted)', async () => {
    const h = harness();
    h.conn.start();
    await h.flush();
    h.last().open();
    h.last().deliver({ type: 'hello', epoch: 'E1' }, chat('a', 500));
    h.last().drop();
    await h.advance(1000);
    h.last().open();
    h.last().deliver({ type: 'hello', epoch: 'E2' }, { type: 'resumed', recovered: false }, chat('b', 3));
    expect(h.conn.epoch).toBe('E2');
    expect(h.conn.lastSeq).toBe(3);
  });

  it('stop() closes with 1000 and schedules nothing', async () => {
    const h = harness();
    h.conn.start();
    await h.flush();
    h.last().open();
    const s = h.last();
    h.conn.stop();
    expect(s.closedWith).toBe(1000);
    expect(h.conn.state.status).toBe('stopped');
    s.drop(); // late close event from the old socket
    await h.advance(60_000);
    expect(h.sockets).toHaveLength(1);
  });

  it('send() refuses while not open so the caller can queue', async () => {
    const h = harness();
    h.conn.start();
    await h.flush();
    expect(h.conn.send('x')).toBe(false);
    h.last().open();
    expect(h.conn.send('y')).toBe(true);
    expect(h.last().sent).toEqual(['y']);
  });
});
