// The page's location in its hash: "#/room/<room>" (chat) or "#/dashboard". Switching rooms
// changes the hash only, never reloads.

import { DEFAULT_ROOM, isValidRoom } from './validate';

export type Route = { view: 'chat'; room: string } | { view: 'dashboard' };

export function parseRoute(hash: string, fallbackRoom: string = DEFAULT_ROOM): Route {
  const h = hash.replace(/^#\/?/, '');
  if (h === 'dashboard') return { view: 'dashboard' };
  const m = /^room\/(.+)$/.exec(h);
  if (m && m[1] !== undefined) {
    let room = m[1];
    try {
      room = decodeURIComponent(room);
    } catch {
      // keep as is
    }
    if (isValidRoom(room)) return { view: 'chat', room };
  }
  return { view: 'chat', room: isValidRoom(fallbackRoom) ? fallbackRoom : DEFAULT_ROOM };
}

export function routeHash(r: Route): string {
  return r.view === 'dashboard' ? '#/dashboard' : `#/room/${encodeURIComponent(r.room)}`;
}
