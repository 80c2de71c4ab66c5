// The REST API (chat-restapi behind Apache). Every reader tolerates absent fields: the
// dashboard must keep working against an older or newer server.

import { API_BASE } from './urls';
import { parseMessage, type ChatMessage } from './protocol';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    this.name = 'ApiError';
  }
}

async function getJson(path: string, signal?: AbortSignal): Promise<unknown> {
  const res = await fetch(`${API_BASE}${path}`, {
    signal,
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  });
  if (!res.ok) {
    let msg = `HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { error?: unknown };
      if (typeof body.error === 'string') msg = body.error;
    } catch {
      // body was not JSON
    }
    throw new ApiError(res.status, msg);
  }
  return res.json();
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const numOr = (v: unknown, d: number | null = null): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : d;
const strOr = (v: unknown, d = ''): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : d);

// ---------------------------------------------------------------- token

export interface TokenInfo {
  token: string;
  userId: string;
  expiresAt: string | number | null;
}

/** A token when the server has auth on and the request is authenticated; null when auth is
 *  off (404) or the endpoint is not there. Other failures also give null (the relay will
 *  refuse us if a token was needed, and we retry). */
export async function fetchToken(timeoutMs = 5000): Promise<TokenInfo | null> {
  // a request the browser holds (e.g. waiting on an auth prompt) must not stall the reconnect loop
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const body = await getJson('/token', ctrl.signal);
    if (!isObj(body) || typeof body.token !== 'string' || body.token === '') return null;
    return {
      token: body.token,
      userId: strOr(body.userId),
      expiresAt: typeof body.expiresAt === 'string' || typeof body.expiresAt === 'number' ? body.expiresAt : null,
    };
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- history

export interface HistoryPage {
  messages: ChatMessage[]; // oldest first
  nextBefore: string | null;
}

export async function fetchHistory(
  room: string,
  opts: { before?: string; limit?: number; signal?: AbortSignal } = {},
): Promise<HistoryPage> {
  const q = new URLSearchParams();
  q.set('limit', String(opts.limit ?? 50));
  if (opts.before) q.set('before', opts.before);
  const body = await getJson(`/rooms/${encodeURIComponent(room)}/messages?${q.toString()}`, opts.signal);
  if (!isObj(body)) return { messages: [], nextBefore: null };
  const raw = Array.isArray(body.messages) ? body.messages : [];
  const messages: ChatMessage[] = [];
  for (const r of raw) {
    const m = parseMessage(r);
    if (m) messages.push(m);
  }
  const nb = body.nextBefore;
  return { messages, nextBefore: typeof nb === 'string' && nb !== '' ? nb : null };
}

// ---------------------------------------------------------------- rooms and analytics

export interface RoomStats {
  roomId: string;
  connections: number | null;
  users: number | null;
  messagesLastMinute: number | null;
  messagesTotal: number | null;
}

export interface ActiveUser {
  clientId: string;
  userId: string;
  username: string;
  joinedAt: string;
  roomId: string | null;
}

export interface Analytics {
  totalMessages: number | null;
  activeConnections: number | null;
  activeUsers: number | null;
  peakConnections: number | null;
  messagesPerMinute: number[];
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  /** Percentiles over the last minute, when the server reports them. */
  latencyLastMinute: { p50: number | null; p95: number | null; p99: number | null } | null;
  activeUserDetails: ActiveUser[];
  uptimeSeconds: number | null;
  serverStartTime: string | null;
  rooms: RoomStats[];
  persistQueueDepth: number | null;
  persistWritten: number | null;
  persistJournalPending: number | null;
  persistFailed: number | null;
  storageUp: number | null;
  /** Every other numeric field (rejections, drops, ...), for the "more counters" table. */
  extra: Record<string, number>;
}

function parseRoom(v: unknown): RoomStats | null {
  if (!isObj(v)) return null;
  const roomId = strOr(v.roomId ?? v.room ?? v.id);
  if (roomId === '') return null;
  return {
    roomId,
    connections: numOr(v.connections),
    users: numOr(v.users),
    messagesLastMinute: numOr(v.messagesLastMinute),
    messagesTotal: numOr(v.messagesTotal),
  };
}

export function parseRooms(v: unknown): RoomStats[] {
  const arr = Array.isArray(v) ? v : isObj(v) && Array.isArray(v.rooms) ? v.rooms : [];
  const out: RoomStats[] = [];
  for (const r of arr) {
    const p = parseRoom(r);
    if (p) out.push(p);
  }
  return out;
}

const KNOWN = new Set([
  'totalMessages', 'activeConnections', 'activeUsers', 'peakConnections', 'messagesPerMinute',
  'latencyP50Ms', 'latencyP95Ms', 'latencyP99Ms', 'latencyLastMinute', 'activeUserDetails', 'uptimeSeconds',
  'serverStartTime', 'rooms', 'persistQueueDepth', 'persistWritten', 'persistJournalPending',
  'persistFailed', 'storageUp',
]);

export function parseAnalytics(body: unknown): Analytics {
  const b = isObj(body) ? body : {};
  const users: ActiveUser[] = [];
  if (Array.isArray(b.activeUserDetails)) {
    for (const u of b.activeUserDetails) {
      if (!isObj(u)) continue;
      users.push({
        clientId: strOr(u.clientId),
        userId: strOr(u.userId),
        username: strOr(u.username, strOr(u.userId)),
        joinedAt: strOr(u.joinedAt),
        roomId: typeof u.roomId === 'string' ? u.roomId : null,
      });
    }
  }
  const extra: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) {
    if (!KNOWN.has(k) && typeof v === 'number' && Number.isFinite(v)) extra[k] = v;
  }
  return {
    totalMessages: numOr(b.totalMessages),
    activeConnections: numOr(b.activeConnections),
    activeUsers: numOr(b.activeUsers),
    peakConnections: numOr(b.peakConnections),
    messagesPerMinute: Array.isArray(b.messagesPerMinute)
      ? b.messagesPerMinute.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : 0))
      : [],
    latencyP50Ms: numOr(b.latencyP50Ms),
    latencyP95Ms: numOr(b.latencyP95Ms),
    latencyP99Ms: numOr(b.latencyP99Ms),
    latencyLastMinute: isObj(b.latencyLastMinute)
      ? {
          p50: numOr(b.latencyLastMinute.p50Ms),
          p95: numOr(b.latencyLastMinute.p95Ms),
          p99: numOr(b.latencyLastMinute.p99Ms),
        }
      : null,
    activeUserDetails: users,
    uptimeSeconds: numOr(b.uptimeSeconds),
    serverStartTime:
      typeof b.serverStartTime === 'string'
        ? b.serverStartTime
        : typeof b.serverStartTime === 'number'
          ? new Date(b.serverStartTime * (b.serverStartTime < 1e12 ? 1000 : 1)).toISOString()
          : null,
    rooms: parseRooms(b.rooms),
    persistQueueDepth: numOr(b.persistQueueDepth),
    persistWritten: numOr(b.persistWritten),
    persistJournalPending: numOr(b.persistJournalPending),
    persistFailed: numOr(b.persistFailed),
    storageUp: numOr(b.storageUp),
    extra,
  };
}

export async function fetchAnalytics(signal?: AbortSignal): Promise<Analytics> {
  return parseAnalytics(await getJson('/analytics', signal));
}

export async function fetchRooms(signal?: AbortSignal): Promise<RoomStats[]> {
  return parseRooms(await getJson('/rooms', signal));
}
