import { forwardRef, useId, type InputHTMLAttributes, type ReactNode } from 'react';
import { cx } from '../../lib/cx';

export interface InputProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  hint?: ReactNode;
  error?: string | null;
  /** Visually hide the label (it stays for screen readers). */
  hideLabel?: boolean;
  leading?: ReactNode;
}

export const Input = forwardRef<HTMLInputElement, InputProps>(function Input(
  { label, hint, error, hideLabel, leading, className, id, ...rest },
  ref,
) {
  const auto = useId();
  const inputId = id ?? auto;
  const hintId = `${inputId}-hint`;
  const describedBy = error || hint ? hintId : undefined;
  return (
    <div className={cx('flex flex-col gap-1.5', className)}>
      <label htmlFor={inputId} className={cx('text-xs font-medium text-muted', hideLabel && 'sr-only')}>
        {label}
      </label>
      <div className="relative">
        {leading && (
          <span className="pointer-events-none absolute inset-y-0 left-3 flex items-center text-subtle">{leading}</span>
        )}
        <input
          ref={ref}
          id={inputId}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          className={cx(
            'h-10 w-full rounded-control border bg-surface-2 px-3 text-sm text-fg placeholder:text-subtle',
            'transition-colors focus:outline-none focus-visible:outline-none focus:ring-2 focus:ring-accent/60',
            error ? 'border-danger/60' : 'border-border hover:border-border-strong focus:border-accent',
            leading ? 'pl-9' : undefined,
          )}
          {...rest}
        />
      </div>
      {(error || hint) && (
        <p id={hintId} className={cx('text-xs', error ? 'text-danger' : 'text-subtle')} role={error ? 'alert' : undefined}>
          {error || hint}
        </p>
      )}
    </div>
  );
});
