// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JoinScreen } from '../JoinScreen';

afterEach(cleanup);

describe('JoinScreen', () => {
  it('defaults the room to global and joins with a trimmed name', () => {
    const onJoin = vi.fn();
    render(<JoinScreen onJoin={onJoin} />);
    expect((screen.getByLabelText('Room') as HTMLInputElement).value).toBe('global');
    fireEvent.change(screen.getByLabelText('Display name'), { target: { value: '  Ada ' } });
    fireEvent.click(screen.getByRole('button', { name: /join room/i }));
    expect(onJoin).toHaveBeenCalledWith('Ada', 'global');
  });

  it('refuses a room the relay would refuse and a reserved name', () => {
    const onJoin = vi.fn();
    render(<JoinScreen onJoin={onJoin} />);
    fireEvent.change(screen.getByLabelText('Display name'), { target: { value: 'system' } });
    fireEvent.change(screen.getByLabelText('Room'), { target: { value: 'no spaces' } });
    fireEvent.click(screen.getByRole('button', { name: /join room/i }));
    expect(onJoin).not.toHaveBeenCalled();
    expect(screen.getByText(/reserved/)).toBeTruthy();
    expect(screen.getByText(/Only letters, digits/)).toBeTruthy();
  });
});
