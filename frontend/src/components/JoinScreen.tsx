import { ArrowRight, Hash, User } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { Button, Card, Input } from './ui';
import { Logo } from './Logo';
import { codePointLength, DEFAULT_ROOM, MAX_USERNAME, roomError, usernameError } from '../lib/validate';

export function JoinScreen({
  initialName = '',
  initialRoom = DEFAULT_ROOM,
  onJoin,
}: {
  initialName?: string;
  initialRoom?: string;
  onJoin(name: string, room: string): void;
}) {
  const [name, setName] = useState(initialName);
  const [room, setRoom] = useState(initialRoom);
  const [touched, setTouched] = useState(false);
  const nameErr = usernameError(name);
  const roomErr = roomError(room.trim());

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (nameErr || roomErr) return;
    onJoin(name.trim(), room.trim());
  };

  return (
    <main className="relative flex min-h-full items-center justify-center overflow-hidden px-4 py-10">
      <div
        aria-hidden="true"
        className="pointer-events-none absolute -top-40 left-1/2 h-[480px] w-[720px] -translate-x-1/2 rounded-full bg-primary/20 blur-[120px]"
      />
      <div className="relative w-full max-w-sm animate-fade-in">
        <div className="mb-8 flex justify-center">
          <Logo />
        </div>
        <Card className="p-6 shadow-pop">
          <h1 className="text-lg font-semibold tracking-tight">Join the chat</h1>
          <p className="mt-1 text-sm text-muted">Pick a display name and a room. Everyone in the room sees your messages live.</p>
          <form className="mt-6 flex flex-col gap-4" onSubmit={submit} noValidate>
            <Input
              label="Display name"
              name="username"
              autoComplete="nickname"
              autoFocus
              placeholder="e.g. Ada"
              value={name}
              maxLength={MAX_USERNAME * 2}
              onChange={(e) => setName(e.target.value)}
              error={touched ? nameErr : null}
              hint={`${codePointLength(name.trim())}/${MAX_USERNAME}`}
              leading={<User size={16} aria-hidden="true" />}
            />
            <Input
              label="Room"
              name="room"
              autoComplete="off"
              spellCheck={false}
              value={room}
              maxLength={64}
              onChange={(e) => setRoom(e.target.value)}
              error={touched || room !== initialRoom ? roomErr : null}
              hint="Letters, digits and . _ : - (up to 64)"
              leading={<Hash size={16} aria-hidden="true" />}
            />
            <Button type="submit" variant="primary" size="lg" className="mt-2 justify-center">
              Join room
              <ArrowRight size={16} aria-hidden="true" />
            </Button>
          </form>
        </Card>
        <p className="mt-6 text-center text-xs text-subtle">
          Or open the{' '}
          <a href="#/dashboard" className="font-medium text-accent underline-offset-2 hover:underline">
            live dashboard
          </a>
        </p>
      </div>
    </main>
  );
}
