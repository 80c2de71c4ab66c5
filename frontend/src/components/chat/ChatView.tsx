import { Hash, PanelLeft, Users, X } from 'lucide-react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { fetchAnalytics, fetchRooms } from '../../lib/api';
import { toRows } from '../../lib/messageLog';
import { roomUsers } from '../../lib/presence';
import { cx } from '../../lib/cx';
import { useChat, type Identity } from '../../hooks/useChat';
import { usePolling } from '../../hooks/usePolling';
import { useUnreadTitle } from '../../hooks/useUnreadTitle';
import { Button } from '../ui';
import { Composer } from './Composer';
import { ConnectionBadge, GapBanner, ReconnectBanner } from './ConnectionStatus';
import { MessageList } from './MessageList';
import type { RowContext } from './MessageRow';
import { RoomList } from './RoomList';
import { UserList } from './UserList';

export function ChatView({
  room,
  identity,
  onSelectRoom,
  onReload,
}: {
  room: string;
  identity: Identity;
  onSelectRoom(room: string): void;
  onReload(): void;
}) {
  const chat = useChat(room, identity);
  const [drawer, setDrawer] = useState<'rooms' | 'users' | null>(null);
  const [sentSignal, setSentSignal] = useState(0);

  const analytics = usePolling(fetchAnalytics, 5000);
  const rooms = usePolling(fetchRooms, 5000);

  // our own join/leave notices (one per reconnect) are noise to us; others see them
  const rows = useMemo(
    () =>
      toRows(chat.log).filter(
        (r) => !(r.kind === 'message' && (r.message.type === 'join' || r.message.type === 'leave') && r.message.userId === chat.selfId),
      ),
    [chat.log, chat.selfId],
  );
  useUnreadTitle(room, rows, chat.selfId);
  const { retry, discard, send } = chat;
  const ctx: RowContext = useMemo(
    () => ({ selfId: chat.selfId, selfName: identity.username, onRetry: retry, onDiscard: discard }),
    [chat.selfId, identity.username, retry, discard],
  );
  const users = useMemo(
    () =>
      roomUsers(
        room,
        analytics.data && analytics.updatedAt !== null
          ? { users: analytics.data.activeUserDetails, takenAt: analytics.updatedAt }
          : null,
        chat.presence,
        { userId: chat.selfId, username: identity.username },
      ),
    [room, analytics.data, analytics.updatedAt, chat.presence, chat.selfId, identity.username],
  );

  const onSend = useCallback(
    (content: string) => {
      send(content);
      setSentSignal((n) => n + 1);
    },
    [send],
  );

  const select = (r: string) => {
    setDrawer(null);
    onSelectRoom(r);
  };

  useEffect(() => {
    if (!drawer) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setDrawer(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [drawer]);

  const roomsPanel = (
    <RoomList current={room} rooms={rooms.data ?? []} error={rooms.error} onSelect={select} />
  );
  const usersPanel = <UserList users={users} connected={chat.conn.status === 'open'} />;

  return (
    <div className="flex min-h-0 flex-1">
      {/* rooms: sidebar on wide screens */}
      <aside className="hidden w-60 shrink-0 flex-col border-r border-border bg-surface md:flex">{roomsPanel}</aside>

      <section className="flex min-w-0 flex-1 flex-col bg-bg" aria-label={`Chat in ${room}`}>
        <header className="flex h-14 shrink-0 items-center gap-2 border-b border-border px-3 sm:px-4">
          <Button
            size="icon"
            variant="ghost"
            className="md:hidden"
            aria-label="Show rooms"
            onClick={() => setDrawer('rooms')}
          >
            <PanelLeft size={18} aria-hidden="true" />
          </Button>
          <h1 className="flex min-w-0 items-center gap-1.5 text-[15px] font-semibold" data-testid="room-title">
            <Hash size={17} aria-hidden="true" className="shrink-0 text-subtle" />
            <span className="truncate">{room}</span>
          </h1>
          <div className="ml-auto flex items-center gap-2">
            <ConnectionBadge conn={chat.conn} />
            <Button
              size="sm"
              variant="ghost"
              className="lg:hidden"
              aria-label={`Show users (${users.length})`}
              onClick={() => setDrawer('users')}
              icon={<Users size={15} aria-hidden="true" />}
            >
              <span className="tabular-nums">{users.length}</span>
            </Button>
          </div>
        </header>
        <ReconnectBanner conn={chat.conn} onReconnect={chat.reconnectNow} />
        {chat.gap && <GapBanner onDismiss={chat.dismissGap} onReload={onReload} />}
        <MessageList
          room={room}
          rows={rows}
          ctx={ctx}
          prependSerial={chat.prependSerial}
          prependCount={chat.prependCount}
          onReachTop={chat.loadOlder}
          history={chat.history}
          connecting={!chat.conn.everOpened}
          scrollToBottomSignal={sentSignal}
        />
        <Composer room={room} connected={chat.conn.status === 'open'} onSend={onSend} />
      </section>

      {/* users: sidebar on wide screens */}
      <aside className="hidden w-60 shrink-0 flex-col border-l border-border bg-surface lg:flex" aria-label="Users">
        {usersPanel}
      </aside>

      {/* drawers on narrow screens */}
      {drawer && (
        <div className="fixed inset-0 z-40 flex" role="dialog" aria-modal="true" aria-label={drawer === 'rooms' ? 'Rooms' : 'Users'}>
          <button
            type="button"
            aria-label="Close"
            className="absolute inset-0 bg-black/60 backdrop-blur-[2px]"
            onClick={() => setDrawer(null)}
          />
          <div
            className={cx(
              'relative flex h-full w-[82%] max-w-xs flex-col border-border bg-surface shadow-pop animate-fade-in',
              drawer === 'rooms' ? 'border-r' : 'ml-auto border-l',
            )}
          >
            <div className="flex justify-end px-2 pt-2">
              <Button size="icon" variant="ghost" aria-label="Close panel" onClick={() => setDrawer(null)} autoFocus>
                <X size={17} aria-hidden="true" />
              </Button>
            </div>
            {drawer === 'rooms' ? roomsPanel : usersPanel}
          </div>
        </div>
      )}
    </div>
  );
}
