import { userColor } from '../../lib/colors';
import { cx } from '../../lib/cx';
import { initials } from '../../lib/format';

const sizes = { sm: 'h-7 w-7 text-[11px]', md: 'h-9 w-9 text-xs', lg: 'h-11 w-11 text-sm' } as const;

/** Initials on the user's stable color. Decorative: the name is always shown next to it. */
export function Avatar({
  userId,
  name,
  size = 'md',
  className,
}: {
  userId: string;
  name: string;
  size?: keyof typeof sizes;
  className?: string;
}) {
  const color = userColor(userId);
  const tint = userColor(userId, 0.15);
  const ring = userColor(userId, 0.3);
  return (
    <span
      aria-hidden="true"
      className={cx(
        'inline-flex shrink-0 items-center justify-center rounded-full font-semibold select-none',
        sizes[size],
        className,
      )}
      style={{ backgroundColor: tint, color, boxShadow: `inset 0 0 0 1px ${ring}` }}
    >
      {initials(name)}
    </span>
  );
}
