// Consecutive chat messages of one user are grouped under one avatar and name.

import type { Row } from './messageLog';

/** Messages from the same user within this window are grouped under one avatar. */
const GROUP_MS = 5 * 60 * 1000;

export function startsGroup(prev: Row | undefined, row: Row, selfId: string): boolean {
  if (!prev) return true;
  const who = (r: Row) => (r.kind === 'message' ? (r.message.type === 'chat' ? r.message.userId : null) : selfId);
  const when = (r: Row) => Date.parse(r.kind === 'message' ? r.message.timestamp : r.item.createdAt);
  const a = who(prev);
  const b = who(row);
  if (a === null || b === null || a !== b) return true;
  const dt = when(row) - when(prev);
  return !(Number.isFinite(dt) && dt >= 0 && dt < GROUP_MS);
}
