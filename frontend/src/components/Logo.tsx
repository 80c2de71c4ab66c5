import { MessagesSquare } from 'lucide-react';

export function Logo({ compact = false }: { compact?: boolean }) {
  return (
    <span className="inline-flex items-center gap-2.5">
      <span className="inline-flex h-8 w-8 items-center justify-center rounded-control bg-primary text-primary-fg shadow-card">
        <MessagesSquare size={18} aria-hidden="true" />
      </span>
      {!compact && (
        <span className="text-[15px] font-semibold tracking-tight text-fg">
          Chat<span className="text-accent">Analytics</span>
        </span>
      )}
    </span>
  );
}
