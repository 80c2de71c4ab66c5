// The chat of one room: its connection, its log, its outbox, presence and scroll-back.

import { useCallback, useEffect, useLayoutEffect, useReducer, useRef, useState } from 'react';
import { ApiError, fetchHistory, fetchToken } from '../lib/api';
import { browserDeps, ChatConnection, type ConnState } from '../lib/connection';
import {
  ackPending,
  addPending,
  appendMessages,
  discardPending,
  emptyLog,
  failPending,
  oldestMessageId,
  pendingSends,
  prependMessages,
  retryPending,
  type LogState,
} from '../lib/messageLog';
import { encodeChat, type ChatMessage, type ServerFrame } from '../lib/protocol';
import { applyPresence, type PresenceMap } from '../lib/presence';
import { WS_BASE } from '../lib/urls';

export interface Identity {
  userId: string;
  username: string;
}

type Action =
  | { t: 'append'; msgs: ChatMessage[] }
  | { t: 'prepend'; msgs: ChatMessage[] }
  | { t: 'pending'; localId: string; nonce: string; content: string }
  | { t: 'ack'; nonce: string; messageId: string }
  | { t: 'fail'; nonce: string; code: string; message: string; retryAfterMs?: number }
  | { t: 'retry'; localId: string; nonce: string }
  | { t: 'discard'; localId: string };

interface ChatState {
  log: LogState;
  /** Rows added in front by the last prepend (the list keeps the reader's place). */
  prependSerial: number;
  prependCount: number;
}

function reducer(s: ChatState, a: Action): ChatState {
  switch (a.t) {
    case 'append': {
      const log = appendMessages(s.log, a.msgs);
      return log === s.log ? s : { ...s, log };
    }
    case 'prepend': {
      const r = prependMessages(s.log, a.msgs);
      if (r.added === 0) return s;
      return { log: r.state, prependSerial: s.prependSerial + 1, prependCount: r.added };
    }
    case 'pending':
      return {
        ...s,
        log: addPending(s.log, {
          localId: a.localId,
          nonce: a.nonce,
          content: a.content,
          createdAt: new Date().toISOString(),
        }),
      };
    case 'ack':
      return { ...s, log: ackPending(s.log, a.nonce, a.messageId) };
    case 'fail':
      return {
        ...s,
        log: failPending(s.log, a.nonce, { code: a.code, message: a.message, retryAfterMs: a.retryAfterMs }),
      };
    case 'retry':
      return { ...s, log: retryPending(s.log, a.localId, a.nonce) };
    case 'discard':
      return { ...s, log: discardPending(s.log, a.localId) };
  }
}

export function newNonce(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

export type HistoryStatus = 'idle' | 'loading' | 'done' | 'unavailable' | 'error';

export interface ChatApi {
  log: LogState;
  conn: ConnState;
  /** The relay said a resume could not be filled (recovered:false). */
  gap: boolean;
  dismissGap(): void;
  presence: PresenceMap;
  /** Our user id as the relay knows it (from the token when auth is on). */
  selfId: string;
  send(content: string): void;
  retry(localId: string): void;
  discard(localId: string): void;
  reconnectNow(): void;
  loadOlder(): void;
  history: HistoryStatus;
  prependSerial: number;
  prependCount: number;
}

export function useChat(room: string, identity: Identity): ChatApi {
  const [state, dispatch] = useReducer(reducer, undefined, () => ({
    log: emptyLog(),
    prependSerial: 0,
    prependCount: 0,
  }));
  const [conn, setConn] = useState<ConnState>({
    status: 'connecting',
    attempt: 0,
    retryAt: null,
    everOpened: false,
    lastClose: null,
  });
  const [gap, setGap] = useState(false);
  const [presence, setPresence] = useState<PresenceMap>(new Map());
  const [history, setHistory] = useState<HistoryStatus>('idle');
  const [selfId, setSelfId] = useState(identity.userId);
  const connRef = useRef<ChatConnection | null>(null);
  const logRef = useRef(state.log);
  useLayoutEffect(() => {
    logRef.current = state.log;
  }, [state.log]);
  const nextBeforeRef = useRef<string | null | undefined>(undefined);
  const historyBusy = useRef(false);

  useEffect(() => {
    // Mounted once per room (the caller keys it by room), so there is no state to reset here.
    const getToken = async () => {
      const t = await fetchToken();
      if (t && t.userId) setSelfId(t.userId);
      return t ? t.token : null;
    };
    const c = new ChatConnection(
      { wsBase: WS_BASE, room, userId: identity.userId, username: identity.username },
      browserDeps(getToken),
      {
        onState: (st) => setConn(st),
        onOpen: () => {
          // whatever was waiting for the connection goes out now, with its original nonce
          // (the relay acknowledges a repeated nonce without broadcasting it twice)
          for (const o of pendingSends(logRef.current)) c.send(encodeChat(o.content, o.nonce));
        },
        onFrames: (frames: ServerFrame[]) => {
          const msgs: ChatMessage[] = [];
          for (const f of frames) {
            switch (f.kind) {
              case 'message':
                if (f.message.roomId === '' || f.message.roomId === room) msgs.push(f.message);
                break;
              case 'ack':
                if (msgs.length) dispatch({ t: 'append', msgs: msgs.splice(0) });
                dispatch({ t: 'ack', nonce: f.ack.nonce, messageId: f.ack.messageId });
                break;
              case 'error':
                if (msgs.length) dispatch({ t: 'append', msgs: msgs.splice(0) });
                if (f.error.nonce) {
                  dispatch({
                    t: 'fail',
                    nonce: f.error.nonce,
                    code: f.error.code,
                    message: f.error.message,
                    retryAfterMs: f.error.retryAfterMs,
                  });
                } else {
                  msgs.push(localNotice(room, f.error.message));
                }
                break;
              case 'resumed':
                if (!f.resumed.recovered) setGap(true);
                break;
              case 'hello':
                // who the relay says we are (the token's user when auth is on)
                if (f.hello.userId) setSelfId(f.hello.userId);
                break;
              default:
                break; // hello and types newer than this page
            }
          }
          if (msgs.length) {
            dispatch({ t: 'append', msgs });
            const presenceEvents = msgs.filter((m) => m.type === 'join' || m.type === 'leave');
            if (presenceEvents.length) setPresence((p) => applyPresence(p, presenceEvents));
          }
        },
      },
    );
    connRef.current = c;
    c.start();
    const onOnline = () => c.reconnectNow();
    window.addEventListener('online', onOnline);
    return () => {
      window.removeEventListener('online', onOnline);
      c.stop();
      connRef.current = null;
    };
  }, [room, identity.userId, identity.username]);

  const send = useCallback((content: string) => {
    const nonce = newNonce();
    const localId = newNonce();
    dispatch({ t: 'pending', localId, nonce, content });
    connRef.current?.send(encodeChat(content, nonce));
  }, []);

  const retry = useCallback((localId: string) => {
    const item = logRef.current.outbox.find((o) => o.localId === localId);
    if (!item) return;
    const nonce = newNonce();
    dispatch({ t: 'retry', localId, nonce });
    connRef.current?.send(encodeChat(item.content, nonce));
  }, []);

  const discard = useCallback((localId: string) => dispatch({ t: 'discard', localId }), []);
  const reconnectNow = useCallback(() => connRef.current?.reconnectNow(), []);
  const dismissGap = useCallback(() => setGap(false), []);

  const loadOlder = useCallback(() => {
    if (historyBusy.current) return;
    if (nextBeforeRef.current === null) return; // nothing older
    const before = nextBeforeRef.current ?? oldestMessageId(logRef.current);
    if (!before) return; // empty room: nothing to page from
    historyBusy.current = true;
    setHistory('loading');
    const forRoom = room;
    fetchHistory(room, { before, limit: 50 })
      .then((page) => {
        if (connRef.current === null || forRoom !== room) return;
        nextBeforeRef.current = page.nextBefore;
        if (page.messages.length) dispatch({ t: 'prepend', msgs: page.messages });
        setHistory(page.nextBefore === null ? 'done' : 'idle');
      })
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 503) {
          nextBeforeRef.current = null;
          setHistory('unavailable');
        } else {
          setHistory('error');
        }
      })
      .finally(() => {
        historyBusy.current = false;
      });
  }, [room]);

  return {
    log: state.log,
    conn,
    gap,
    dismissGap,
    presence,
    selfId,
    send,
    retry,
    discard,
    reconnectNow,
    loadOlder,
    history,
    prependSerial: state.prependSerial,
    prependCount: state.prependCount,
  };
}

let noticeCounter = 0;
function localNotice(room: string, content: string): ChatMessage {
  return {
    messageId: `local-notice-${++noticeCounter}`,
    roomId: room,
    type: 'system',
    userId: 'system',
    username: 'System',
    content,
    timestamp: new Date().toISOString(),
  };
}
