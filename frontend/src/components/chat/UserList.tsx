import { Users } from 'lucide-react';
import { useId } from 'react';
import type { RoomUser } from '../../lib/presence';
import { userColor } from '../../lib/colors';
import { Avatar, StatusDot } from '../ui';

export function UserList({ users, connected }: { users: RoomUser[]; connected: boolean }) {
  const headingId = useId();
  return (
    <section aria-labelledby={headingId} className="flex min-h-0 flex-1 flex-col">
      <h2
        id={headingId}
        className="flex items-center gap-2 px-4 pt-4 pb-2 text-[11px] font-semibold tracking-wider text-subtle uppercase"
      >
        <Users size={13} aria-hidden="true" />
        In this room
        <span className="ml-auto rounded-pill bg-elevated px-1.5 py-px text-[11px] font-medium tabular-nums text-muted" data-testid="user-count">
          {users.length}
        </span>
      </h2>
      <ul className="min-h-0 flex-1 overflow-y-auto px-2 pb-3" data-testid="user-list">
        {users.map((u) => (
          <li key={u.userId} className="flex items-center gap-2.5 rounded-control px-2 py-1.5 hover:bg-surface-2" data-user-id={u.userId}>
            <span className="relative">
              <Avatar userId={u.userId} name={u.username} size="sm" />
              <StatusDot
                tone={u.self && !connected ? 'neutral' : 'success'}
                className="absolute -right-0.5 -bottom-0.5 rounded-full ring-2 ring-surface"
              />
            </span>
            <span className="min-w-0 flex-1 truncate text-sm" style={{ color: userColor(u.userId) }}>
              {u.username}
            </span>
            {u.self && <span className="text-[10px] font-medium tracking-wide text-subtle uppercase">you</span>}
            {!u.self && u.connections > 1 && (
              <span className="text-[10px] tabular-nums text-subtle" title={`${u.connections} connections`}>
                ×{u.connections}
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
