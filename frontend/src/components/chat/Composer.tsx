import { SendHorizontal } from 'lucide-react';
import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { cx } from '../../lib/cx';
import { codePointLength, contentError, MAX_CONTENT } from '../../lib/validate';

/** The message input: live character counter (code points, like the relay counts), Enter
 *  sends, Shift+Enter starts a new line. */
export function Composer({
  room,
  connected,
  onSend,
}: {
  room: string;
  connected: boolean;
  onSend(content: string): void;
}) {
  const [text, setText] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  const count = codePointLength(text);
  const over = count > MAX_CONTENT;
  const near = !over && count >= MAX_CONTENT * 0.9;
  const err = text.length > 0 ? contentError(text) : null;
  const canSend = text.trim().length > 0 && !err;

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (!canSend) return;
    onSend(text);
    setText('');
    requestAnimationFrame(() => {
      const el = ref.current;
      if (el) {
        el.style.height = '';
        el.focus();
      }
    });
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  const grow = (el: HTMLTextAreaElement) => {
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
  };

  return (
    <form onSubmit={submit} className="border-t border-border bg-surface/80 px-3 pt-3 pb-3 sm:px-4">
      <label htmlFor={id} className="sr-only">
        Message #{room}
      </label>
      <div
        className={cx(
          'flex items-end gap-2 rounded-card border bg-surface-2 py-1.5 pr-1.5 pl-3 transition-colors',
          'focus-within:ring-2 focus-within:ring-accent/50',
          over ? 'border-danger/60' : 'border-border focus-within:border-accent',
        )}
      >
        <textarea
          ref={ref}
          id={id}
          rows={1}
          // a mouse/trackpad user lands ready to type; phones keep their keyboard closed
          autoFocus={typeof window !== 'undefined' && window.matchMedia?.('(pointer: fine)').matches}
          value={text}
          placeholder={`Message #${room}`}
          onChange={(e) => {
            setText(e.target.value);
            grow(e.target);
          }}
          onKeyDown={onKeyDown}
          aria-describedby={`${id}-counter`}
          aria-invalid={over || undefined}
          className="max-h-40 min-h-[36px] flex-1 resize-none bg-transparent py-2 text-[14px] leading-5 text-fg placeholder:text-subtle focus:outline-none focus-visible:outline-none"
        />
        <button
          type="submit"
          disabled={!canSend}
          aria-label="Send message"
          className="mb-0.5 inline-flex h-9 w-9 shrink-0 items-center justify-center rounded-control bg-primary text-primary-fg transition-colors hover:bg-primary-hover disabled:bg-elevated disabled:text-subtle"
        >
          <SendHorizontal size={16} aria-hidden="true" />
        </button>
      </div>
      <div className="mt-1.5 flex items-center justify-between gap-3 px-1 text-[11px]">
        <span className={cx('truncate', err && text.trim() ? 'text-danger' : 'text-subtle')}>
          {err && text.trim()
            ? err
            : connected
              ? 'Enter to send · Shift+Enter for a new line'
              : 'Offline — messages are sent when the connection is back'}
        </span>
        <span
          id={`${id}-counter`}
          className={cx('shrink-0 tabular-nums', over ? 'font-semibold text-danger' : near ? 'text-warning' : 'text-subtle')}
          data-testid="char-counter"
        >
          <span className="sr-only">Characters: </span>
          {count}/{MAX_CONTENT}
        </span>
      </div>
    </form>
  );
}
