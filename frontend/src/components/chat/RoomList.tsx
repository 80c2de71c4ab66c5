import { Hash, Plus } from 'lucide-react';
import { useId, useState, type FormEvent } from 'react';
import type { RoomStats } from '../../lib/api';
import { cx } from '../../lib/cx';
import { roomError } from '../../lib/validate';

export function RoomList({
  current,
  rooms,
  error,
  onSelect,
}: {
  current: string;
  rooms: RoomStats[];
  error: string | null;
  onSelect(room: string): void;
}) {
  // rendered twice on narrow screens (sidebar + drawer): ids must be unique per instance
  const uid = useId();
  const headingId = `${uid}-rooms`;
  const inputId = `${uid}-join`;
  const errId = `${uid}-join-err`;
  const [draft, setDraft] = useState('');
  const [touched, setTouched] = useState(false);
  const draftErr = roomError(draft.trim());
  const list = rooms.some((r) => r.roomId === current)
    ? rooms
    : [{ roomId: current, connections: null, users: null, messagesLastMinute: null, messagesTotal: null }, ...rooms];
  const sorted = [...list].sort((a, b) => {
    if (a.roomId === current) return -1;
    if (b.roomId === current) return 1;
    return (b.users ?? 0) - (a.users ?? 0) || a.roomId.localeCompare(b.roomId);
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (draftErr) return;
    onSelect(draft.trim());
    setDraft('');
    setTouched(false);
  };

  return (
    <nav aria-labelledby={headingId} className="flex min-h-0 flex-1 flex-col">
      <h2 id={headingId} className="px-4 pt-4 pb-2 text-[11px] font-semibold tracking-wider text-subtle uppercase">
        Active rooms
      </h2>
      <ul className="min-h-0 flex-1 space-y-0.5 overflow-y-auto px-2" data-testid="room-list">
        {sorted.map((r) => {
          const active = r.roomId === current;
          return (
            <li key={r.roomId}>
              <button
                type="button"
                onClick={() => onSelect(r.roomId)}
                aria-current={active ? 'page' : undefined}
                className={cx(
                  'flex w-full items-center gap-2 rounded-control px-2.5 py-2 text-left text-sm transition-colors',
                  active ? 'bg-accent-soft text-fg' : 'text-muted hover:bg-surface-2 hover:text-fg',
                )}
              >
                <Hash size={15} aria-hidden="true" className={active ? 'text-accent' : 'text-subtle'} />
                <span className="min-w-0 flex-1 truncate font-medium">{r.roomId}</span>
                {r.users != null && (
                  <span className="text-[11px] tabular-nums text-subtle" title={`${r.users} users, ${r.connections ?? '?'} connections`}>
                    {r.users}
                    <span className="sr-only"> users</span>
                  </span>
                )}
                {r.messagesLastMinute != null && r.messagesLastMinute > 0 && (
                  <span className="rounded-pill bg-success-soft px-1.5 text-[10px] font-semibold tabular-nums text-success" title="messages in the last minute">
                    {r.messagesLastMinute}/m
                  </span>
                )}
              </button>
            </li>
          );
        })}
        {error && <li className="px-2.5 py-2 text-xs text-subtle">Room list unavailable</li>}
      </ul>
      <form onSubmit={submit} className="border-t border-border p-3" noValidate>
        <label htmlFor={inputId} className="sr-only">
          Join or create a room
        </label>
        <div className="flex gap-1.5">
          <input
            id={inputId}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            placeholder="Join a room…"
            maxLength={64}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={touched && draftErr ? true : undefined}
            aria-describedby={touched && draftErr ? errId : undefined}
            className="h-9 min-w-0 flex-1 rounded-control border border-border bg-surface-2 px-2.5 text-sm text-fg placeholder:text-subtle focus:border-accent focus:outline-none focus:ring-2 focus:ring-accent/50"
          />
          <button
            type="submit"
            aria-label="Join room"
            className="inline-flex h-9 w-9 items-center justify-center rounded-control bg-elevated text-muted hover:bg-hover hover:text-fg"
          >
            <Plus size={16} aria-hidden="true" />
          </button>
        </div>
        {touched && draftErr && (
          <p id={errId} role="alert" className="mt-1.5 text-xs text-danger">
            {draftErr}
          </p>
        )}
      </form>
    </nav>
  );
}
