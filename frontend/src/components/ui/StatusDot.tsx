import { cx } from '../../lib/cx';
import type { Tone } from './Badge';

const colors: Record<Tone, string> = {
  neutral: 'bg-subtle',
  accent: 'bg-accent',
  success: 'bg-success',
  warning: 'bg-warning',
  danger: 'bg-danger',
  info: 'bg-info',
};

/** A small colored dot; decorative (the text next to it carries the meaning). */
export function StatusDot({ tone, pulse = false, className }: { tone: Tone; pulse?: boolean; className?: string }) {
  return (
    <span aria-hidden="true" className={cx('relative inline-flex h-2 w-2 shrink-0', className)}>
      {pulse && <span className={cx('absolute inset-0 rounded-full opacity-60 animate-ping', colors[tone])} />}
      <span className={cx('relative inline-flex h-2 w-2 rounded-full', colors[tone])} />
    </span>
  );
}
