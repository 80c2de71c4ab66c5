// Stable per-user colors: the same user id always gets the same hue, on every client.

/** FNV-1a 32-bit hash of a string's UTF-16 units. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// Hand-picked hues that read well on the dark surface (contrast >= 4.5:1 against --surface).
export const USER_COLORS = [
  '#ff7a90', '#ff9f5a', '#f5c542', '#a3e05b', '#4fd69c', '#3ed3d3',
  '#5cb8ff', '#7d9bff', '#a48bff', '#d58bff', '#ff85d1', '#ffb38a',
] as const;

export function userColor(userId: string): string {
  return USER_COLORS[hashString(userId) % USER_COLORS.length] ?? USER_COLORS[0];
}
