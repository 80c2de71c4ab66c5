// Who this browser is: a display name the user picks and a random, stable user id.

export interface StoredIdentity {
  userId: string;
  username: string;
}

const KEY = 'chat-analytics.identity';
const ROOM_KEY = 'chat-analytics.room';

export function randomUserId(random: () => number = Math.random): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'u-';
  for (let i = 0; i < 12; i++) s += alphabet[Math.floor(random() * alphabet.length)] ?? 'x';
  return s;
}

export function loadIdentity(storage: Storage | null = safeStorage()): StoredIdentity | null {
  try {
    const raw = storage?.getItem(KEY);
    if (!raw) return null;
    const v = JSON.parse(raw) as Partial<StoredIdentity>;
    if (typeof v.userId === 'string' && v.userId && typeof v.username === 'string' && v.username) {
      return { userId: v.userId, username: v.username };
    }
  } catch {
    // corrupt entry: start over
  }
  return null;
}

export function saveIdentity(id: StoredIdentity, storage: Storage | null = safeStorage()): void {
  try {
    storage?.setItem(KEY, JSON.stringify(id));
  } catch {
    // private mode or quota: the session still works
  }
}

export function clearIdentity(storage: Storage | null = safeStorage()): void {
  try {
    storage?.removeItem(KEY);
  } catch {
    // ignore
  }
}

export function loadLastRoom(storage: Storage | null = safeStorage()): string | null {
  try {
    return storage?.getItem(ROOM_KEY) ?? null;
  } catch {
    return null;
  }
}

export function saveLastRoom(room: string, storage: Storage | null = safeStorage()): void {
  try {
    storage?.setItem(ROOM_KEY, room);
  } catch {
    // ignore
  }
}

function safeStorage(): Storage | null {
  try {
    return typeof window !== 'undefined' ? window.localStorage : null;
  } catch {
    return null;
  }
}
