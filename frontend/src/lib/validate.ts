// Input rules, mirrored from the relay (common/chat_msg.h) so the page refuses what the
// relay would refuse before a round trip.

export const MAX_CONTENT = 1000; // code points
export const MAX_USERNAME = 50; // code points
export const MAX_ROOM = 64; // bytes of [A-Za-z0-9._:-]
export const DEFAULT_ROOM = 'global';

const ROOM_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/** Counts Unicode code points (what the relay counts), not UTF-16 units. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // a high surrogate followed by a low one is one code point
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

export function isValidRoom(room: string): boolean {
  return ROOM_RE.test(room);
}

/** Why a room name is refused, or null when it is fine. */
export function roomError(room: string): string | null {
  if (room.length === 0) return 'Enter a room name';
  if (room.length > MAX_ROOM) return `At most ${MAX_ROOM} characters`;
  if (!ROOM_RE.test(room)) return 'Only letters, digits and . _ : - are allowed';
  return null;
}

// C0 controls and DEL (the relay refuses them in names; in content \t and \n are allowed).
// eslint-disable-next-line no-control-regex
const NAME_CONTROL_RE = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTENT_CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** Why a display name is refused, or null when it is fine. */
export function usernameError(name: string): string | null {
  const t = name.trim();
  if (t.length === 0) return 'Enter a display name';
  if (codePointLength(t) > MAX_USERNAME) return `At most ${MAX_USERNAME} characters`;
  if (NAME_CONTROL_RE.test(t)) return 'Control characters are not allowed';
  if (t.toLowerCase() === 'system') return '“System” is reserved';
  return null;
}

/** Why a message would be refused, or null when it can be sent. */
export function contentError(content: string): string | null {
  if (content.trim().length === 0) return 'Message is empty';
  const n = codePointLength(content);
  if (n > MAX_CONTENT) return `Too long by ${n - MAX_CONTENT} characters`;
  if (CONTENT_CONTROL_RE.test(content)) return 'Control characters are not allowed';
  return null;
}
