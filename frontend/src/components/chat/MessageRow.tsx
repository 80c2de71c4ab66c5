import { AlertTriangle, Clock, Info, LogIn, LogOut, RotateCw, X } from 'lucide-react';
import { memo } from 'react';
import type { Row } from '../../lib/messageLog';
import type { ChatMessage } from '../../lib/protocol';
import { userColor } from '../../lib/colors';
import { cx } from '../../lib/cx';
import { formatClock, formatFull } from '../../lib/format';
import { Avatar } from '../ui';

export interface RowContext {
  selfId: string;
  selfName: string;
  onRetry(localId: string): void;
  onDiscard(localId: string): void;
}

function Time({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={formatFull(iso)} className="text-[11px] tabular-nums text-subtle">
      {formatClock(iso)}
    </time>
  );
}

function ChatLine({
  userId,
  username,
  timestamp,
  content,
  first,
  self,
  children,
  dim,
}: {
  userId: string;
  username: string;
  timestamp: string;
  content: string;
  first: boolean;
  self: boolean;
  children?: React.ReactNode;
  dim?: boolean;
}) {
  return (
    <div
      className={cx(
        'group flex gap-3 rounded-control px-3 transition-colors hover:bg-surface-2/70',
        first ? 'pt-2.5 pb-1' : 'py-0.5',
      )}
    >
      <div className="w-9 shrink-0">
        {first ? (
          <Avatar userId={userId} name={username} />
        ) : (
          <span className="invisible block pt-0.5 text-right text-[10px] tabular-nums text-subtle group-hover:visible">
            {formatClock(timestamp)}
          </span>
        )}
      </div>
      <div className="min-w-0 flex-1">
        {first && (
          <div className="flex items-baseline gap-2">
            <span className="truncate text-sm font-semibold" style={{ color: userColor(userId) }}>
              {username}
            </span>
            {self && <span className="text-[10px] font-medium uppercase tracking-wide text-subtle">you</span>}
            <Time iso={timestamp} />
          </div>
        )}
        <p
          className={cx(
            'text-[14px] leading-relaxed break-words whitespace-pre-wrap text-fg',
            dim && 'text-muted',
          )}
        >
          {content}
        </p>
        {children}
      </div>
    </div>
  );
}

function EventLine({ m }: { m: ChatMessage }) {
  const join = m.type === 'join';
  const Icon = join ? LogIn : LogOut;
  return (
    <div className="flex items-center gap-2 px-3 py-1 pl-[60px] text-xs text-subtle" data-kind={m.type}>
      <Icon size={13} aria-hidden="true" className={join ? 'text-success' : 'text-subtle'} />
      <span>
        <span className="font-medium" style={{ color: userColor(m.userId) }}>
          {m.username || m.userId}
        </span>{' '}
        {join ? 'joined' : 'left'}
        {m.content && m.content !== m.username ? <span className="sr-only">: {m.content}</span> : null}
      </span>
      <Time iso={m.timestamp} />
    </div>
  );
}

function SystemLine({ m }: { m: ChatMessage }) {
  return (
    <div className="px-3 py-1.5" data-kind="system">
      <div className="mx-auto flex max-w-xl items-start gap-2 rounded-control border border-info/20 bg-info-soft px-3 py-2 text-xs text-fg">
        <Info size={14} aria-hidden="true" className="mt-px shrink-0 text-info" />
        <span className="min-w-0 flex-1 break-words">{m.content}</span>
        <Time iso={m.timestamp} />
      </div>
    </div>
  );
}

export const MessageRow = memo(function MessageRow({
  row,
  first,
  ctx,
}: {
  row: Row;
  first: boolean;
  ctx: RowContext;
}) {
  if (row.kind === 'message') {
    const m = row.message;
    if (m.type === 'join' || m.type === 'leave') return <EventLine m={m} />;
    if (m.type === 'system') return <SystemLine m={m} />;
    return (
      <div data-kind="chat" data-message-id={m.messageId} data-seq={m.seq}>
        <ChatLine
          userId={m.userId}
          username={m.username || m.userId}
          timestamp={m.timestamp}
          content={m.content}
          first={first}
          self={m.userId === ctx.selfId}
        />
      </div>
    );
  }
  const o = row.item;
  return (
    <div data-kind="outbox" data-status={o.status}>
      <ChatLine
        userId={ctx.selfId}
        username={ctx.selfName}
        timestamp={o.createdAt}
        content={o.content}
        first={first}
        self
        dim={o.status !== 'failed'}
      >
        {o.status === 'pending' && (
          <span className="mt-0.5 inline-flex items-center gap-1 text-[11px] text-subtle">
            <Clock size={11} aria-hidden="true" /> Sending…
          </span>
        )}
        {o.status === 'failed' && (
          <div
            role="alert"
            className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 rounded-control border border-danger/25 bg-danger-soft px-2.5 py-1.5 text-xs"
          >
            <span className="inline-flex items-center gap-1.5 text-danger">
              <AlertTriangle size={13} aria-hidden="true" />
              Not sent: {o.error?.message ?? 'rejected'}
              {o.error?.retryAfterMs ? ` (retry in ${Math.ceil(o.error.retryAfterMs / 1000)}s)` : ''}
            </span>
            <span className="flex items-center gap-1">
              <button
                type="button"
                onClick={() => ctx.onRetry(o.localId)}
                className="inline-flex items-center gap-1 rounded px-1.5 py-0.5 font-medium text-fg hover:bg-hover"
              >
                <RotateCw size={12} aria-hidden="true" /> Retry
              </button>
              <button
                type="button"
                onClick={() => ctx.onDiscard(o.localId)}
                className="inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-muted hover:bg-hover hover:text-fg"
              >
                <X size={12} aria-hidden="true" /> Discard
              </button>
            </span>
          </div>
        )}
      </ChatLine>
    </div>
  );
});
