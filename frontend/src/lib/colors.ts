// Stable per-user colors: the same user id always gets the same hue, on every client.
// Hues come from a hash over the whole color wheel (not a short palette, where two people
// in a small room often collide); saturation and lightness are fixed so every hue reads at
// >= 4.5:1 on the dark surfaces.

/** FNV-1a 32-bit hash of a string's UTF-16 units. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The user's hue, 0..359. */
export function userHue(userId: string): number {
  return hashString(userId) % 360;
}

/** The user's color; alpha (0..1) for tints such as avatar backgrounds. */
export function userColor(userId: string, alpha = 1): string {
  const h = userHue(userId);
  // blues and purples are darker to the eye: lift them so contrast holds across the wheel
  const l = h >= 200 && h <= 290 ? 76 : 68;
  return alpha >= 1 ? `hsl(${h} 85% ${l}%)` : `hsl(${h} 85% ${l}% / ${alpha})`;
}
