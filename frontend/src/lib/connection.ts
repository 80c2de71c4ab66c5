// One room's WebSocket to the relay, kept alive forever: reconnects with exponential backoff
// and jitter, resumes with since=<last seq>&epoch=<epoch> so the relay replays what we missed,
// and reports its state for the status badge and the countdown banner.
//
// No React here: timers, sockets, randomness and the token source are injected so the state
// logic is unit-tested without a browser.

import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { parseFrame, type ServerFrame } from './protocol';
import { buildWsUrl } from './urls';

export type ConnStatus = 'connecting' | 'open' | 'waiting' | 'stopped';

export interface ConnState {
  status: ConnStatus;
  /** Failed attempts in a row (0 while connected). */
  attempt: number;
  /** When the next attempt starts (ms, deps.now clock), while waiting. */
  retryAt: number | null;
  /** Has any connection of this session ever opened? (first connect vs reconnect) */
  everOpened: boolean;
  /** Close code/reason of the last close, for the banner. */
  lastClose: { code: number; reason: string } | null;
}

/** The subset of the browser WebSocket we use. */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface ConnectionDeps {
  createSocket(url: string): SocketLike;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
  random(): number;
  /** A fresh token before each attempt, or null when the server runs without auth. */
  getToken(): Promise<string | null>;
}

export interface ConnectionOptions {
  wsBase: string;
  room: string;
  userId: string;
  username: string;
  backoff?: BackoffOptions;
  /** A socket still not open after this long is abandoned and retried. */
  connectTimeoutMs?: number;
  /** The retry counter resets only after a connection stayed open this long, so a relay
   *  that accepts and drops at once does not get hammered. */
  stableAfterMs?: number;
}

export interface ConnectionHandlers {
  onFrames(frames: ServerFrame[]): void;
  onState(state: ConnState): void;
  /** Called on every (re)open, after the resume parameters were sent. */
  onOpen?(info: { resumed: boolean }): void;
}

const OPEN = 1;

export class ChatConnection {
  private readonly opts: Required<ConnectionOptions>;
  private readonly deps: ConnectionDeps;
  private readonly handlers: ConnectionHandlers;
  private socket: SocketLike | null = null;
  private timer: unknown = null;
  private connectTimer: unknown = null;
  private stableTimer: unknown = null;
  private generation = 0; // bumps on every attempt/stop: late callbacks of old sockets are ignored
  private stateValue: ConnState = {
    status: 'stopped',
    attempt: 0,
    retryAt: null,
    everOpened: false,
    lastClose: null,
  };
  /** Highest seq seen in this room; sent as since= on reconnect. */
  lastSeq = 0;
  /** The relay's epoch as last announced (hello/resumed). */
  epoch: string | null = null;

  constructor(opts: ConnectionOptions, deps: ConnectionDeps, handlers: ConnectionHandlers) {
    this.opts = {
      backoff: DEFAULT_BACKOFF,
      connectTimeoutMs: 10_000,
      stableAfterMs: 5_000,
      ...opts,
    };
    this.deps = deps;
    this.handlers = handlers;
  }

  get state(): ConnState {
    return this.stateValue;
  }

  private setState(patch: Partial<ConnState>): void {
    this.stateValue = { ...this.stateValue, ...patch };
    this.handlers.onState(this.stateValue);
  }

  /** Starts connecting (no-op when already running). */
  start(): void {
    if (this.stateValue.status !== 'stopped') return;
    void this.attempt();
  }

  /** Closes for good (room switch, unmount). */
  stop(): void {
    this.generation++;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    if (s) {
      detach(s);
      try {
        s.close(1000, 'leaving');
      } catch {
        // already closed
      }
    }
    this.setState({ status: 'stopped', retryAt: null });
  }

  /** Skips the countdown and tries right away. */
  reconnectNow(): void {
    if (this.stateValue.status === 'open' || this.stateValue.status === 'connecting') return;
    this.clearTimers();
    void this.attempt();
  }

  /** Sends a text frame; false when not connected (the caller keeps it for later). */
  send(text: string): boolean {
    const s = this.socket;
    if (!s || this.stateValue.status !== 'open' || s.readyState !== OPEN) return false;
    try {
      s.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Records a seq we displayed (also done for every message frame received here). */
  noteSeq(seq: number | undefined): void {
    if (seq !== undefined && seq > this.lastSeq) this.lastSeq = seq;
  }

  private clearTimers(): void {
    for (const t of [this.timer, this.connectTimer, this.stableTimer]) {
      if (t !== null) this.deps.clearTimeout(t);
    }
    this.timer = this.connectTimer = this.stableTimer = null;
  }

  private async attempt(): Promise<void> {
    const gen = ++this.generation;
    this.setState({ status: 'connecting', retryAt: null });
    let token: string | null = null;
    try {
      token = await this.deps.getToken();
    } catch {
      token = null;
    }
    if (gen !== this.generation) return; // stopped or restarted meanwhile
    const resumed = this.lastSeq > 0;
    const url = buildWsUrl(this.opts.wsBase, {
      userId: this.opts.userId,
      username: this.opts.username,
      room: this.opts.room,
      token,
      since: resumed ? this.lastSeq : undefined,
      epoch: resumed ? this.epoch : null,
    });
    let s: SocketLike;
    try {
      s = this.deps.createSocket(url);
    } catch {
      this.scheduleRetry(gen, { code: 0, reason: 'could not open socket' });
      return;
    }
    this.socket = s;
    this.connectTimer = this.deps.setTimeout(() => {
      if (gen !== this.generation) return;
      this.connectTimer = null;
      detach(s);
      try {
        s.close();
      } catch {
        // ignore
      }
      this.socket = null;
      this.scheduleRetry(gen, { code: 0, reason: 'connect timeout' });
    }, this.opts.connectTimeoutMs);

    s.onopen = () => {
      if (gen !== this.generation) return;
      if (this.connectTimer !== null) this.deps.clearTimeout(this.connectTimer);
      this.connectTimer = null;
      this.stableTimer = this.deps.setTimeout(() => {
        this.stableTimer = null;
        if (gen === this.generation && this.stateValue.status === 'open') this.setState({ attempt: 0 });
      }, this.opts.stableAfterMs);
      this.setState({ status: 'open', retryAt: null, everOpened: true });
      this.handlers.onOpen?.({ resumed });
    };
    s.onmessage = (ev) => {
      if (gen !== this.generation || typeof ev.data !== 'string') return;
      const frames = parseFrame(ev.data);
      for (const f of frames) this.observe(f);
      if (frames.length > 0) this.handlers.onFrames(frames);
    };
    s.onerror = () => {
      // a close event always follows; the retry is scheduled there
    };
    s.onclose = (ev) => {
      if (gen !== this.generation) return;
      detach(s);
      this.socket = null;
      this.scheduleRetry(gen, { code: ev.code, reason: ev.reason });
    };
  }

  /** Tracks seq and epoch from what the relay says. */
  private observe(f: ServerFrame): void {
    if (f.kind === 'message') {
      if (f.message.roomId === '' || f.message.roomId === this.opts.room) this.noteSeq(f.message.seq);
    } else if (f.kind === 'hello' || f.kind === 'resumed') {
      const e = f.kind === 'hello' ? f.hello.epoch : f.resumed.epoch;
      if (e !== undefined) {
        // a new epoch restarts the seq numbering: what we knew no longer compares
        if (this.epoch !== null && e !== this.epoch) this.lastSeq = 0;
        this.epoch = e;
      }
    }
  }

  private scheduleRetry(gen: number, close: { code: number; reason: string }): void {
    if (gen !== this.generation) return;
    this.clearTimers();
    const attempt = this.stateValue.attempt;
    const delay = backoffDelay(attempt, this.deps.random, this.opts.backoff);
    const retryAt = this.deps.now() + delay;
    this.setState({ status: 'waiting', attempt: attempt + 1, retryAt, lastClose: close });
    this.timer = this.deps.setTimeout(() => {
      this.timer = null;
      if (gen !== this.generation) return;
      void this.attempt();
    }, delay);
  }
}

function detach(s: SocketLike): void {
  s.onopen = null;
  s.onmessage = null;
  s.onclose = null;
  s.onerror = null;
}

/** The browser implementation of the dependencies. */
export function browserDeps(getToken: () => Promise<string | null>): ConnectionDeps {
  return {
    createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (h) => window.clearTimeout(h as number),
    now: () => Date.now(),
    random: () => Math.random(),
    getToken,
  };
}
