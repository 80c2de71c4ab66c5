import { BarChart3, LogOut, MessageSquare } from 'lucide-react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ChatView } from './components/chat/ChatView';
import { Dashboard } from './components/dashboard/Dashboard';
import { JoinScreen } from './components/JoinScreen';
import { Logo } from './components/Logo';
import { Avatar } from './components/ui';
import { cx } from './lib/cx';
import {
  clearIdentity,
  loadIdentity,
  loadLastRoom,
  randomUserId,
  saveIdentity,
  saveLastRoom,
  type StoredIdentity,
} from './lib/identity';
import { parseRoute, routeHash, type Route } from './lib/route';
import { DEFAULT_ROOM } from './lib/validate';

function useRoute(): [Route, (r: Route) => void] {
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.hash, loadLastRoom() ?? DEFAULT_ROOM));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(window.location.hash, loadLastRoom() ?? DEFAULT_ROOM));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const go = useCallback((r: Route) => {
    const h = routeHash(r);
    if (window.location.hash !== h) window.location.hash = h;
    setRoute(r);
  }, []);
  return [route, go];
}

function NavLink({ href, active, icon, children }: { href: string; active: boolean; icon: React.ReactNode; children: React.ReactNode }) {
  return (
    <a
      href={href}
      aria-current={active ? 'page' : undefined}
      className={cx(
        'inline-flex h-8 items-center gap-1.5 rounded-control px-2.5 text-sm font-medium transition-colors sm:px-3',
        active ? 'bg-elevated text-fg' : 'text-muted hover:bg-surface-2 hover:text-fg',
      )}
    >
      {icon}
      <span className="hidden sm:inline">{children}</span>
    </a>
  );
}

export default function App() {
  const [identity, setIdentity] = useState<StoredIdentity | null>(() => loadIdentity());
  const [route, go] = useRoute();
  const [reloadKey, setReloadKey] = useState(0);

  // the dashboard keeps the chat link pointing at the room last open
  const room = useMemo(() => (route.view === 'chat' ? route.room : (loadLastRoom() ?? DEFAULT_ROOM)), [route]);

  useEffect(() => {
    if (route.view === 'chat') saveLastRoom(route.room);
  }, [route]);

  useEffect(() => {
    document.title = route.view === 'dashboard' ? 'Dashboard · Chat Analytics' : `#${room} · Chat Analytics`;
  }, [route.view, room]);

  const join = (name: string, r: string) => {
    const id = { userId: identity?.userId ?? randomUserId(), username: name };
    saveIdentity(id);
    setIdentity(id);
    go({ view: 'chat', room: r });
  };

  const leave = () => {
    clearIdentity();
    setIdentity(identity ? { ...identity, username: '' } : null);
  };

  if (route.view === 'chat' && (!identity || !identity.username)) {
    return <JoinScreen initialName={identity?.username ?? ''} initialRoom={room} onJoin={join} />;
  }

  return (
    <div className="flex h-full flex-col">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-control focus:bg-elevated focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      <header className="flex h-14 shrink-0 items-center gap-2 border-b border-border bg-surface px-3 sm:gap-4 sm:px-4">
        <a href={routeHash({ view: 'chat', room })} aria-label="Chat Analytics home" className="rounded-control">
          <span className="hidden sm:inline">
            <Logo />
          </span>
          <span className="sm:hidden">
            <Logo compact />
          </span>
        </a>
        <nav aria-label="Main" className="flex items-center gap-1">
          <NavLink href={routeHash({ view: 'chat', room })} active={route.view === 'chat'} icon={<MessageSquare size={15} aria-hidden="true" />}>
            Chat
          </NavLink>
          <NavLink href="#/dashboard" active={route.view === 'dashboard'} icon={<BarChart3 size={15} aria-hidden="true" />}>
            Dashboard
          </NavLink>
        </nav>
        {identity && identity.username && (
          <div className="ml-auto flex min-w-0 items-center gap-2">
            <Avatar userId={identity.userId} name={identity.username} size="sm" />
            <span className="hidden max-w-40 truncate text-sm font-medium sm:inline" data-testid="self-name">
              {identity.username}
            </span>
            <button
              type="button"
              onClick={leave}
              className="inline-flex h-8 w-8 items-center justify-center rounded-control text-muted hover:bg-surface-2 hover:text-fg"
              aria-label="Change name"
              title="Change name"
            >
              <LogOut size={15} aria-hidden="true" />
            </button>
          </div>
        )}
      </header>
      <div id="main" className="flex min-h-0 flex-1 flex-col">
        {route.view === 'dashboard' ? (
          <Dashboard />
        ) : (
          identity && (
            <ChatView
              key={`${room}:${reloadKey}`}
              room={room}
              identity={identity}
              onSelectRoom={(r) => go({ view: 'chat', room: r })}
              onReload={() => setReloadKey((k) => k + 1)}
            />
          )
        )}
      </div>
    </div>
  );
}
