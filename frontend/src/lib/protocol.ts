// The relay's wire protocol, as the page sees it.
//
// Server -> client text frames carry one or more JSON objects separated by '\n' (the relay
// batches queued messages into one frame). Each object is a chat message, an ack, an error,
// a resume report, a hello, or something newer we do not know yet (ignored).

export type MessageType = 'chat' | 'system' | 'join' | 'leave';

export interface ChatMessage {
  messageId: string;
  roomId: string;
  type: MessageType;
  userId: string;
  username: string;
  content: string;
  timestamp: string; // RFC 3339 UTC with milliseconds
  seq?: number; // per-room sequence number; absent on private notices
}

export interface AckFrame {
  type: 'ack';
  nonce: string;
  messageId: string;
  seq?: number;
}

export interface ErrorFrame {
  type: 'error';
  nonce?: string;
  code: string;
  message: string;
  retryAfterMs?: number;
}

export interface ResumedFrame {
  type: 'resumed';
  recovered: boolean;
  epoch?: string;
}

export interface HelloFrame {
  type: 'hello';
  epoch?: string;
  /** The user id the relay gave this connection (from the token when auth is on). */
  userId?: string;
  [key: string]: unknown;
}

export type ServerFrame =
  | { kind: 'message'; message: ChatMessage }
  | { kind: 'ack'; ack: AckFrame }
  | { kind: 'error'; error: ErrorFrame }
  | { kind: 'resumed'; resumed: ResumedFrame }
  | { kind: 'hello'; hello: HelloFrame }
  | { kind: 'unknown'; raw: unknown };

let localIds = 0;

const MESSAGE_TYPES: ReadonlySet<string> = new Set(['chat', 'system', 'join', 'leave']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

/** Epochs may be numbers or strings on the wire; we carry them as strings. */
function epochOf(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Splits one text frame into its JSON objects. Blank lines and lines that do not parse are
 *  skipped (one bad line must not take the others with it). */
export function splitFrame(data: string): unknown[] {
  const out: unknown[] = [];
  for (const line of data.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    try {
      out.push(JSON.parse(t));
    } catch {
      // not JSON: ignore this line only
    }
  }
  return out;
}

/** Classifies one decoded object. Unknown or malformed objects become {kind:'unknown'}. */
export function classify(obj: unknown): ServerFrame {
  if (!isObject(obj)) return { kind: 'unknown', raw: obj };
  const type = str(obj.type);
  if (type === 'ack') {
    const nonce = str(obj.nonce);
    const messageId = str(obj.messageId);
    if (nonce === undefined || messageId === undefined) return { kind: 'unknown', raw: obj };
    return { kind: 'ack', ack: { type: 'ack', nonce, messageId, seq: num(obj.seq) } };
  }
  if (type === 'error') {
    return {
      kind: 'error',
      error: {
        type: 'error',
        nonce: str(obj.nonce),
        code: str(obj.code) ?? 'error',
        message: str(obj.message) ?? str(obj.code) ?? 'rejected',
        retryAfterMs: num(obj.retryAfterMs),
      },
    };
  }
  if (type === 'resumed') {
    return {
      kind: 'resumed',
      resumed: { type: 'resumed', recovered: obj.recovered === true, epoch: epochOf(obj.epoch) },
    };
  }
  if (type === 'hello') {
    return { kind: 'hello', hello: { ...obj, type: 'hello', epoch: epochOf(obj.epoch), userId: str(obj.userId) } };
  }
  if (type !== undefined && MESSAGE_TYPES.has(type)) {
    // Private notices might come without an id; give them a local one so they still show.
    const messageId = str(obj.messageId) ?? `local-${++localIds}`;
    const message: ChatMessage = {
      messageId,
      roomId: str(obj.roomId) ?? '',
      type: type as MessageType,
      userId: str(obj.userId) ?? '',
      username: str(obj.username) ?? '',
      content: str(obj.content) ?? '',
      timestamp: str(obj.timestamp) ?? new Date().toISOString(),
    };
    const seq = num(obj.seq);
    if (seq !== undefined && seq > 0) message.seq = seq;
    return { kind: 'message', message };
  }
  return { kind: 'unknown', raw: obj };
}

/** splitFrame + classify. */
export function parseFrame(data: string): ServerFrame[] {
  return splitFrame(data).map(classify);
}

/** The frame a client sends to post a message. */
export function encodeChat(content: string, nonce: string): string {
  return JSON.stringify({ type: 'chat', content, nonce });
}

/** Parses a REST message (same shape as the wire message). */
export function parseMessage(obj: unknown): ChatMessage | null {
  const f = classify(obj);
  return f.kind === 'message' ? f.message : null;
}
