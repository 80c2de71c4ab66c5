import { AlertTriangle, RefreshCw, WifiOff, X } from 'lucide-react';
import type { ConnState } from '../../lib/connection';
import { countdownSeconds } from '../../lib/format';
import { useNow } from '../../hooks/useNow';
import { Badge, Button, StatusDot } from '../ui';

export function ConnectionBadge({ conn }: { conn: ConnState }) {
  const now = useNow(250, conn.status === 'waiting');
  if (conn.status === 'open') {
    return (
      <Badge tone="success" data-testid="conn-status" data-status="open">
        <StatusDot tone="success" /> Connected
      </Badge>
    );
  }
  if (conn.status === 'waiting') {
    const s = conn.retryAt !== null ? countdownSeconds(conn.retryAt - now) : 0;
    return (
      <Badge tone="danger" data-testid="conn-status" data-status="waiting">
        <StatusDot tone="danger" /> Reconnecting in {s}s
      </Badge>
    );
  }
  if (conn.status === 'stopped') {
    return (
      <Badge tone="neutral" data-testid="conn-status" data-status="stopped">
        <StatusDot tone="neutral" /> Offline
      </Badge>
    );
  }
  return (
    <Badge tone="warning" data-testid="conn-status" data-status="connecting">
      <StatusDot tone="warning" pulse /> {conn.everOpened ? 'Reconnecting…' : 'Connecting…'}
    </Badge>
  );
}

/** Shown while the connection is down: why, a live countdown and "Reconnect now". */
export function ReconnectBanner({ conn, onReconnect }: { conn: ConnState; onReconnect(): void }) {
  const now = useNow(250, conn.status === 'waiting');
  if (conn.status !== 'waiting') return null;
  const s = conn.retryAt !== null ? countdownSeconds(conn.retryAt - now) : 0;
  return (
    <div
      role="status"
      data-testid="reconnect-banner"
      className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b border-danger/20 bg-danger-soft px-4 py-2.5 text-sm animate-fade-in"
    >
      <WifiOff size={16} aria-hidden="true" className="shrink-0 text-danger" />
      <span className="min-w-0 flex-1">
        <span className="font-medium text-fg">{conn.everOpened ? 'Connection lost.' : 'Cannot reach the chat server.'}</span>{' '}
        <span className="text-muted">
          Retrying in <span className="tabular-nums font-medium text-fg">{s}s</span>
          {conn.attempt > 1 ? ` (attempt ${conn.attempt})` : ''}. Nothing you send is lost.
        </span>
      </span>
      <Button size="sm" variant="secondary" onClick={onReconnect} icon={<RefreshCw size={13} aria-hidden="true" />}>
        Reconnect now
      </Button>
    </div>
  );
}

/** Shown when the relay could not replay everything we missed (recovered:false). */
export function GapBanner({ onDismiss, onReload }: { onDismiss(): void; onReload(): void }) {
  return (
    <div
      role="alert"
      data-testid="gap-banner"
      className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b border-warning/20 bg-warning-soft px-4 py-2.5 text-sm animate-fade-in"
    >
      <AlertTriangle size={16} aria-hidden="true" className="shrink-0 text-warning" />
      <span className="min-w-0 flex-1">
        <span className="font-medium text-fg">Some messages may be missing.</span>{' '}
        <span className="text-muted">The server could not replay everything sent while you were away.</span>
      </span>
      <Button size="sm" variant="secondary" onClick={onReload}>
        Reload room
      </Button>
      <Button size="icon" variant="ghost" onClick={onDismiss} aria-label="Dismiss">
        <X size={15} aria-hidden="true" />
      </Button>
    </div>
  );
}
