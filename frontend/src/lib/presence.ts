// Who is in the room: the last analytics snapshot (authoritative when it was taken) corrected
// by the join/leave events that happened after it.

import type { ActiveUser } from './api';
import type { ChatMessage } from './protocol';

export interface PresenceEntry {
  userId: string;
  username: string;
  present: boolean;
  at: number; // event time (ms since the epoch, from the message timestamp)
}

export type PresenceMap = ReadonlyMap<string, PresenceEntry>;

/** Applies join/leave messages in order; other types are ignored. Returns a new map. */
export function applyPresence(map: PresenceMap, events: readonly ChatMessage[]): PresenceMap {
  const next = new Map(map);
  for (const m of events) {
    if (m.type !== 'join' && m.type !== 'leave') continue;
    if (!m.userId) continue;
    const at = Date.parse(m.timestamp);
    const prev = next.get(m.userId);
    const t = Number.isFinite(at) ? at : Date.now();
    if (prev && prev.at > t) continue; // an older event replayed after a newer one
    next.set(m.userId, { userId: m.userId, username: m.username || m.userId, present: m.type === 'join', at: t });
  }
  return next;
}

export interface RoomUser {
  userId: string;
  username: string;
  connections: number;
  self: boolean;
}

export interface Snapshot {
  users: readonly ActiveUser[];
  takenAt: number; // ms
}

/** The user list of `room`: analytics users of the room (when the snapshot knows rooms),
 *  minus users who left after it, plus users who joined after it, plus ourselves. Sorted:
 *  self first, then by name. */
export function roomUsers(
  room: string,
  snapshot: Snapshot | null,
  presence: PresenceMap,
  self: { userId: string; username: string } | null,
): RoomUser[] {
  const out = new Map<string, RoomUser>();
  const knowsRooms = snapshot !== null && snapshot.users.some((u) => u.roomId !== null);
  if (snapshot && knowsRooms) {
    for (const u of snapshot.users) {
      if (u.roomId !== room || !u.userId) continue;
      const p = presence.get(u.userId);
      if (p && !p.present && p.at > snapshot.takenAt) continue;
      const prev = out.get(u.userId);
      if (prev) prev.connections++;
      else out.set(u.userId, { userId: u.userId, username: u.username || u.userId, connections: 1, self: false });
    }
  }
  for (const p of presence.values()) {
    if (!p.present || out.has(p.userId)) continue;
    if (snapshot && knowsRooms && p.at <= snapshot.takenAt) continue; // the snapshot is newer
    out.set(p.userId, { userId: p.userId, username: p.username, connections: 1, self: false });
  }
  if (self) {
    const mine = out.get(self.userId);
    if (mine) mine.self = true;
    else out.set(self.userId, { userId: self.userId, username: self.username, connections: 1, self: true });
  }
  return Array.from(out.values()).sort((a, b) => {
    if (a.self !== b.self) return a.self ? -1 : 1;
    return a.username.localeCompare(b.username, undefined, { sensitivity: 'base' });
  });
}
