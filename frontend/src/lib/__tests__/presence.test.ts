import { describe, expect, it } from 'vitest';
import type { ActiveUser } from '../api';
import { parseAnalytics, parseRooms } from '../api';
import { applyPresence, roomUsers } from '../presence';
import type { ChatMessage } from '../protocol';
import { parseRoute, routeHash } from '../route';
import { buildWsUrl, wsBaseUrl } from '../urls';

const ev = (type: 'join' | 'leave', userId: string, at: number): ChatMessage => ({
  messageId: `${type}-${userId}-${at}`,
  roomId: 'r',
  type,
  userId,
  username: userId.toUpperCase(),
  content: '',
  timestamp: new Date(at).toISOString(),
});
const au = (userId: string, roomId: string | null, clientId = `c-${userId}`): ActiveUser => ({
  clientId,
  userId,
  username: userId,
  joinedAt: '',
  roomId,
});

describe('presence', () => {
  it('applies join and leave in order and ignores older events', () => {
    let p = applyPresence(new Map(), [ev('join', 'a', 1000), ev('join', 'b', 1000)]);
    p = applyPresence(p, [ev('leave', 'a', 2000), ev('join', 'a', 1500)]);
    expect(p.get('a')?.present).toBe(false);
    expect(p.get('b')?.present).toBe(true);
  });

  it('roomUsers: snapshot of the room, minus later leaves, plus later joins, self first, multi-tab counted', () => {
    const snap = { users: [au('a', 'r'), au('b', 'r'), au('b', 'r', 'c2'), au('z', 'other')], takenAt: 10_000 };
    const presence = applyPresence(new Map(), [
      ev('leave', 'a', 11_000), // left after the snapshot
      ev('join', 'c', 12_000), // joined after it
      ev('join', 'old', 5_000), // before it and not in it: gone
    ]);
    const list = roomUsers('r', snap, presence, { userId: 'me', username: 'Me' });
    expect(list.map((u) => u.userId)).toEqual(['me', 'b', 'c']);
    expect(list.find((u) => u.userId === 'b')?.connections).toBe(2);
  });

  it('without room info in the snapshot falls back to presence only', () => {
    const list = roomUsers('r', { users: [au('a', null)], takenAt: 0 }, applyPresence(new Map(), [ev('join', 'x', 1)]), null);
    expect(list.map((u) => u.userId)).toEqual(['x']);
  });
});

describe('REST parsing tolerates absent and extra fields', () => {
  it('parseAnalytics', () => {
    const a = parseAnalytics({
      totalMessages: 5,
      activeConnections: 3,
      messagesPerMinute: [1, 'x', 2],
      activeUserDetails: [{ clientId: 'c', userId: 'u', username: 'U', joinedAt: 't', roomId: 'g' }, 'junk'],
      rooms: [{ roomId: 'g', connections: 2 }, { nope: 1 }],
      rejectedRateLimited: 4,
      latencyLastMinute: { p50Ms: 1, p95Ms: 2, p99Ms: 3 },
    });
    expect(a.totalMessages).toBe(5);
    expect(a.activeUsers).toBeNull();
    expect(a.messagesPerMinute).toEqual([1, 0, 2]);
    expect(a.activeUserDetails).toHaveLength(1);
    expect(a.rooms).toEqual([{ roomId: 'g', connections: 2, users: null, messagesLastMinute: null, messagesTotal: null }]);
    expect(a.extra).toEqual({ rejectedRateLimited: 4 });
    expect(a.latencyLastMinute).toEqual({ p50: 1, p95: 2, p99: 3 });
    expect(parseAnalytics(null).rooms).toEqual([]);
  });
  it('parseRooms accepts a bare array or {rooms:[...]}', () => {
    expect(parseRooms([{ roomId: 'a' }])).toHaveLength(1);
    expect(parseRooms({ count: 1, rooms: [{ roomId: 'a', users: 2 }] })[0]?.users).toBe(2);
    expect(parseRooms('x')).toEqual([]);
  });
});

describe('urls and routes', () => {
  it('derives ws: or wss: from the page scheme, same origin', () => {
    expect(wsBaseUrl({ protocol: 'http:', host: 'localhost:8080' })).toBe('ws://localhost:8080/ws');
    expect(wsBaseUrl({ protocol: 'https:', host: 'chat.example' })).toBe('wss://chat.example/ws');
    expect(wsBaseUrl({ protocol: 'https:', host: 'x' }, 'wss://relay.example/ws')).toBe('wss://relay.example/ws');
  });
  it('buildWsUrl encodes parameters and adds since/epoch only when known', () => {
    const u = new URL(buildWsUrl('ws://h/ws', { userId: 'u 1', username: 'Ada & Bob', room: 'r', since: 0 }));
    expect(u.searchParams.get('username')).toBe('Ada & Bob');
    expect(u.searchParams.has('since')).toBe(false);
    const v = new URL(buildWsUrl('ws://h/ws', { userId: 'u', username: 'A', room: 'r', since: 9, epoch: 'e', token: 't' }));
    expect([v.searchParams.get('since'), v.searchParams.get('epoch'), v.searchParams.get('token')]).toEqual(['9', 'e', 't']);
  });
  it('parses and prints hash routes; invalid rooms fall back', () => {
    expect(parseRoute('#/dashboard')).toEqual({ view: 'dashboard' });
    expect(parseRoute('#/room/dev.ops')).toEqual({ view: 'chat', room: 'dev.ops' });
    expect(parseRoute('#/room/bad%20room', 'global')).toEqual({ view: 'chat', room: 'global' });
    expect(parseRoute('', 'last')).toEqual({ view: 'chat', room: 'last' });
    expect(routeHash({ view: 'chat', room: 'a:b' })).toBe('#/room/a%3Ab');
    expect(parseRoute(routeHash({ view: 'chat', room: 'a:b' }))).toEqual({ view: 'chat', room: 'a:b' });
  });
});
