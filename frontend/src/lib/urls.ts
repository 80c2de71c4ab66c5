// Where the relay and the REST API live. Same origin by default (the page is served by the
// Apache that also proxies /ws and /api); VITE_WS_URL / VITE_API_URL override at build time.

export interface LocationLike {
  protocol: string;
  host: string;
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

/** Base URL of the WebSocket endpoint, e.g. "wss://chat.example/ws". */
export function wsBaseUrl(loc: LocationLike, override?: string): string {
  if (override) return override;
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws`;
}

/** Base URL of the REST API without trailing slash, e.g. "/api" or "https://x/api". */
export function apiBaseUrl(override?: string): string {
  return override ? trimSlash(override) : '/api';
}

export interface ConnectParams {
  userId: string;
  username: string;
  room: string;
  token?: string | null;
  since?: number;
  epoch?: string | null;
}

/** The /ws URL with its query: userId, username, room, then token/since/epoch when known. */
export function buildWsUrl(base: string, p: ConnectParams): string {
  const q = new URLSearchParams();
  q.set('userId', p.userId);
  q.set('username', p.username);
  q.set('room', p.room);
  if (p.token) q.set('token', p.token);
  if (p.since !== undefined && p.since > 0) q.set('since', String(p.since));
  if (p.epoch) q.set('epoch', p.epoch);
  const sep = base.includes('?') ? '&' : '?';
  return `${base}${sep}${q.toString()}`;
}

const env = import.meta.env as Record<string, string | undefined>;

export const WS_BASE = wsBaseUrl(
  typeof window !== 'undefined' ? window.location : { protocol: 'http:', host: 'localhost' },
  env.VITE_WS_URL,
);
export const API_BASE = apiBaseUrl(env.VITE_API_URL);
