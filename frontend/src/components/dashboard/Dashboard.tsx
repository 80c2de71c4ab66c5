import {
  Activity,
  AlertTriangle,
  Clock,
  Database,
  Gauge,
  MessageSquare,
  Pause,
  Plug,
  TrendingUp,
  Users,
} from 'lucide-react';
import { useCallback, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import type uPlot from 'uplot';
import { fetchAnalytics, fetchRooms, type Analytics } from '../../lib/api';
import { userColor } from '../../lib/colors';
import { cx } from '../../lib/cx';
import { formatAgo, formatBytes, formatCompact, formatDuration, formatMs, formatNumber, humanize } from '../../lib/format';
import { appendSample, type LatencySample } from '../../lib/series';
import { usePolling } from '../../hooks/usePolling';
import { useNow } from '../../hooks/useNow';
import { Avatar, Badge, Card, CardHeader, StatusDot, type Tone } from '../ui';
import { Chart } from './Chart';

const INTERVALS = [1000, 2000, 5000, 10_000, 30_000] as const;
const MAX_SAMPLES = 600;

interface Poll {
  a: Analytics;
  latency: LatencySample[];
}

function StatCard({
  label,
  value,
  sub,
  icon,
  testId,
}: {
  label: string;
  value: ReactNode;
  sub?: ReactNode;
  icon: ReactNode;
  testId: string;
}) {
  return (
    <Card className="p-4 sm:p-5">
      <div className="flex items-center justify-between gap-2">
        <p className="text-xs font-medium text-muted">{label}</p>
        <span className="inline-flex h-7 w-7 items-center justify-center rounded-control bg-elevated text-accent">{icon}</span>
      </div>
      <p className="mt-2 text-2xl font-semibold tracking-tight tabular-nums text-fg sm:text-[28px]" data-testid={testId}>
        {value}
      </p>
      {sub && <p className="mt-1 truncate text-xs text-subtle">{sub}</p>}
    </Card>
  );
}

function Th({ children, right }: { children: ReactNode; right?: boolean }) {
  return (
    <th
      scope="col"
      className={cx(
        'border-b border-border px-4 py-2 text-[11px] font-semibold tracking-wider text-subtle uppercase whitespace-nowrap',
        right ? 'text-right' : 'text-left',
      )}
    >
      {children}
    </th>
  );
}

function Td({ children, right, mono }: { children: ReactNode; right?: boolean; mono?: boolean }) {
  return (
    <td
      className={cx(
        'border-b border-border/60 px-4 py-2.5 whitespace-nowrap',
        right && 'text-right tabular-nums',
        mono && 'font-mono text-xs text-muted',
      )}
    >
      {children}
    </td>
  );
}

function Health({ label, value, tone, hint }: { label: string; value: ReactNode; tone: Tone; hint: string }) {
  return (
    <div className="rounded-control border border-border bg-surface-2 p-3">
      <div className="flex items-center gap-2 text-xs text-muted">
        <StatusDot tone={tone} />
        {label}
      </div>
      <p className="mt-1.5 text-lg font-semibold tabular-nums">{value}</p>
      <p className="text-[11px] text-subtle">{hint}</p>
    </div>
  );
}

export function Dashboard() {
  const [interval, setIntervalMs] = useState<number>(2000);
  const latency = useRef<LatencySample[]>([]);
  const selectId = useId();

  const poll = useCallback(async (signal: AbortSignal): Promise<Poll> => {
    const a = await fetchAnalytics(signal);
    if (a.rooms.length === 0) {
      try {
        a.rooms = await fetchRooms(signal);
      } catch {
        // older servers: no room table
      }
    }
    latency.current = appendSample(
      latency.current,
      {
        t: Date.now() / 1000,
        // the last minute's percentiles move with the traffic; all-time ones barely do
        p50: a.latencyLastMinute?.p50 ?? a.latencyP50Ms,
        p95: a.latencyLastMinute?.p95 ?? a.latencyP95Ms,
        p99: a.latencyLastMinute?.p99 ?? a.latencyP99Ms,
      },
      MAX_SAMPLES,
    );
    return { a, latency: latency.current };
  }, []);

  const state = usePolling(poll, interval);
  const now = useNow(1000);
  const a = state.data?.a ?? null;

  const mpm = useMemo<uPlot.AlignedData>(() => {
    const v = a?.messagesPerMinute ?? [];
    const n = v.length;
    return [v.map((_, i) => i - (n - 1)), v];
  }, [a]);

  const lat = useMemo<uPlot.AlignedData>(() => {
    const s = state.data?.latency ?? [];
    return [s.map((x) => x.t), s.map((x) => x.p50), s.map((x) => x.p95), s.map((x) => x.p99)];
  }, [state.data]);

  const rooms = useMemo(
    () => [...(a?.rooms ?? [])].sort((x, y) => (y.connections ?? 0) - (x.connections ?? 0) || x.roomId.localeCompare(y.roomId)),
    [a],
  );
  const users = a?.activeUserDetails ?? [];
  const lastMinute = a?.messagesPerMinute.length ? a.messagesPerMinute[a.messagesPerMinute.length - 1] : null;
  const storageTone: Tone = a?.storageUp === 0 ? 'danger' : a?.storageUp === 1 ? 'success' : 'neutral';

  return (
    <main className="mx-auto w-full max-w-7xl flex-1 overflow-y-auto px-3 py-5 sm:px-6 sm:py-6" data-testid="dashboard">
      <div className="mb-5 flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-xl font-semibold tracking-tight">Live dashboard</h1>
          <p className="mt-0.5 text-sm text-muted">
            Relay metrics from the shared analytics segment
            {state.updatedAt !== null && (
              <span className="text-subtle"> · updated {formatAgo(state.updatedAt, now)}</span>
            )}
          </p>
        </div>
        <div className="flex items-center gap-2">
          {state.paused ? (
            <Badge tone="neutral">
              <Pause size={11} aria-hidden="true" /> Paused (tab hidden)
            </Badge>
          ) : state.error ? (
            <Badge tone="danger" role="status">
              <StatusDot tone="danger" /> API unreachable
            </Badge>
          ) : (
            <Badge tone="success">
              <StatusDot tone="success" pulse /> Live
            </Badge>
          )}
          <label htmlFor={selectId} className="text-xs text-muted">
            Refresh
          </label>
          <select
            id={selectId}
            value={interval}
            onChange={(e) => setIntervalMs(Number(e.target.value))}
            className="h-8 rounded-control border border-border bg-surface-2 px-2 text-xs text-fg hover:border-border-strong focus:border-accent focus:outline-none"
          >
            {INTERVALS.map((ms) => (
              <option key={ms} value={ms}>
                every {ms / 1000}s
              </option>
            ))}
          </select>
        </div>
      </div>

      {state.error && (
        <div role="alert" className="mb-4 flex items-center gap-2 rounded-card border border-danger/25 bg-danger-soft px-4 py-3 text-sm">
          <AlertTriangle size={16} aria-hidden="true" className="text-danger" />
          <span>
            Could not load analytics: <span className="text-muted">{state.error}</span>. Retrying every {interval / 1000}s.
          </span>
        </div>
      )}

      <section aria-label="Totals" className="grid grid-cols-2 gap-3 lg:grid-cols-4">
        <StatCard
          label="Total messages"
          value={formatNumber(a?.totalMessages)}
          sub={lastMinute != null ? `${formatNumber(lastMinute)} this minute` : undefined}
          icon={<MessageSquare size={15} aria-hidden="true" />}
          testId="stat-total-messages"
        />
        <StatCard
          label="Connections / users"
          value={
            <>
              <span data-testid="stat-connections">{formatNumber(a?.activeConnections)}</span>
              <span className="text-subtle"> / </span>
              <span data-testid="stat-users">{formatNumber(a?.activeUsers)}</span>
            </>
          }
          sub="open sockets / distinct users"
          icon={<Plug size={15} aria-hidden="true" />}
          testId="stat-conn-users"
        />
        <StatCard
          label="Peak connections"
          value={formatNumber(a?.peakConnections)}
          sub="since the relay started"
          icon={<TrendingUp size={15} aria-hidden="true" />}
          testId="stat-peak"
        />
        <StatCard
          label="Uptime"
          value={formatDuration(a?.uptimeSeconds)}
          sub={a?.serverStartTime ? `since ${new Date(a.serverStartTime).toLocaleString('en-GB')}` : undefined}
          icon={<Clock size={15} aria-hidden="true" />}
          testId="stat-uptime"
        />
      </section>

      <section className="mt-3 grid grid-cols-1 gap-3 lg:grid-cols-2">
        <Card className="min-w-0 overflow-hidden">
          <CardHeader
            title="Messages per minute"
            subtitle="Last 15 minutes"
            icon={<Activity size={15} aria-hidden="true" />}
          />
          <div className="px-2 pb-3 sm:px-3">
            <Chart
              data={mpm}
              series={[{ label: 'Messages', color: '--color-chart-1', bars: true }]}
              xKind="minutesAgo"
              legend={false}
              yFormat={(v) => formatCompact(v)}
              ariaLabel="Bar chart of messages per minute over the last 15 minutes"
            />
          </div>
        </Card>
        <Card className="min-w-0 overflow-hidden">
          <CardHeader
            title="Fan-out latency"
            subtitle={
              a
                ? `All-time p50 ${formatMs(a.latencyP50Ms)} · p95 ${formatMs(a.latencyP95Ms)} · p99 ${formatMs(a.latencyP99Ms)}`
                : 'p50 / p95 / p99 over time'
            }
            icon={<Gauge size={15} aria-hidden="true" />}
          />
          <div className="px-2 pb-3 sm:px-3">
            <Chart
              data={lat}
              series={[
                { label: 'p50', color: '--color-chart-2', fill: true },
                { label: 'p95', color: '--color-chart-3' },
                { label: 'p99', color: '--color-chart-4' },
              ]}
              xKind="time"
              yFormat={(v) => formatMs(v)}
              ariaLabel="Line chart of fan-out latency percentiles p50, p95 and p99 over time"
            />
          </div>
        </Card>
      </section>

      <section className="mt-3 grid grid-cols-1 gap-3 lg:grid-cols-5">
        <Card className="min-w-0 overflow-hidden lg:col-span-2">
          <CardHeader
            title="Rooms"
            subtitle={`${rooms.length} active`}
            icon={<MessageSquare size={15} aria-hidden="true" />}
          />
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="rooms-table">
              <thead>
                <tr>
                  <Th>Room</Th>
                  <Th right>Users</Th>
                  <Th right>Conns</Th>
                  <Th right>Msgs/min</Th>
                </tr>
              </thead>
              <tbody>
                {rooms.length === 0 && (
                  <tr>
                    <td colSpan={4} className="px-4 py-6 text-center text-xs text-subtle">
                      No active rooms
                    </td>
                  </tr>
                )}
                {rooms.map((r) => (
                  <tr key={r.roomId} className="hover:bg-surface-2/60" data-room={r.roomId}>
                    <Td>
                      <a href={`#/room/${encodeURIComponent(r.roomId)}`} className="font-medium text-fg hover:text-accent">
                        #{r.roomId}
                      </a>
                    </Td>
                    <Td right>{formatNumber(r.users)}</Td>
                    <Td right>{formatNumber(r.connections)}</Td>
                    <Td right>{formatNumber(r.messagesLastMinute)}</Td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>

        <Card className="min-w-0 overflow-hidden lg:col-span-3">
          <CardHeader
            title="Active users"
            subtitle={`${users.length} connection${users.length === 1 ? '' : 's'}`}
            icon={<Users size={15} aria-hidden="true" />}
          />
          <div className="max-h-80 overflow-auto">
            <table className="w-full text-sm" data-testid="users-table">
              <thead className="sticky top-0 bg-surface">
                <tr>
                  <Th>User</Th>
                  <Th>Room</Th>
                  <Th>Joined</Th>
                  <Th>Client</Th>
                </tr>
              </thead>
              <tbody>
                {users.length === 0 && (
                  <tr>
                    <td colSpan={4} className="px-4 py-6 text-center text-xs text-subtle">
                      Nobody is connected
                    </td>
                  </tr>
                )}
                {users.map((u) => (
                  <tr key={u.clientId || `${u.userId}-${u.joinedAt}`} className="hover:bg-surface-2/60" data-user-id={u.userId}>
                    <Td>
                      <span className="flex items-center gap-2">
                        <Avatar userId={u.userId} name={u.username} size="sm" />
                        <span className="flex min-w-0 flex-col">
                          <span className="truncate font-medium" style={{ color: userColor(u.userId) }}>
                            {u.username}
                          </span>
                          <span className="truncate font-mono text-[11px] text-subtle">{u.userId}</span>
                        </span>
                      </span>
                    </Td>
                    <Td>{u.roomId ? `#${u.roomId}` : '—'}</Td>
                    <Td>
                      <span title={u.joinedAt}>{u.joinedAt ? formatAgo(u.joinedAt, now) : '—'}</span>
                    </Td>
                    <Td mono>{u.clientId ? u.clientId.slice(0, 12) : '—'}</Td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      </section>

      <section className="mt-3 grid grid-cols-1 gap-3">
        <Card className="min-w-0">
          <CardHeader
            title="Persistence"
            subtitle="Messages on their way to storage"
            icon={<Database size={15} aria-hidden="true" />}
            actions={
              <Badge tone={storageTone} data-testid="storage-status">
                <StatusDot tone={storageTone} />
                {a?.storageUp === 0 ? 'Storage failing' : a?.storageUp === 1 ? 'Storage OK' : 'Storage unknown'}
              </Badge>
            }
          />
          <div className="grid grid-cols-2 gap-3 px-4 pb-4 sm:grid-cols-4 sm:px-5 sm:pb-5">
            <Health
              label="Queue depth"
              value={formatNumber(a?.persistQueueDepth)}
              tone={(a?.persistQueueDepth ?? 0) > 1000 ? 'warning' : 'success'}
              hint="waiting in memory"
            />
            <Health label="Written" value={formatNumber(a?.persistWritten)} tone="success" hint="confirmed in the store" />
            <Health
              label="Journal pending"
              value={formatNumber(a?.persistJournalPending)}
              tone={(a?.persistJournalPending ?? 0) > 0 ? 'warning' : 'success'}
              hint="journaled, not yet stored"
            />
            <Health
              label="Write failures"
              value={formatNumber(a?.persistFailed)}
              tone={(a?.persistFailed ?? 0) > 0 ? 'danger' : 'success'}
              hint="attempts that failed"
            />
          </div>
        </Card>
        <Card className="min-w-0">
          <CardHeader title="Other counters" subtitle="Rejections, drops, resources" icon={<Activity size={15} aria-hidden="true" />} />
          <dl className="grid grid-cols-1 gap-x-8 px-4 pb-4 text-sm sm:grid-cols-2 sm:px-5 sm:pb-5 lg:grid-cols-4">
            {Object.entries(a?.extra ?? {}).map(([k, v]) => (
              <div key={k} className="flex items-center justify-between gap-3 border-b border-border/60 py-1.5">
                <dt className="truncate text-xs text-muted">{humanize(k.replace(/Us$/, ''))}</dt>
                <dd className="tabular-nums">{/bytes$/i.test(k) ? formatBytes(v) : /Us$/.test(k) ? formatMs(v / 1000) : formatNumber(v)}</dd>
              </div>
            ))}
            {Object.keys(a?.extra ?? {}).length === 0 && <p className="text-xs text-subtle">None reported</p>}
          </dl>
        </Card>
      </section>
    </main>
  );
}
