// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Composer } from '../chat/Composer';

afterEach(cleanup);

describe('Composer', () => {
  it('counts code points live and sends on Enter, not on Shift+Enter', () => {
    const onSend = vi.fn();
    render(<Composer room="global" connected onSend={onSend} />);
    const box = screen.getByLabelText('Message #global');
    fireEvent.change(box, { target: { value: 'hi 😀' } });
    expect(screen.getByTestId('char-counter').textContent).toContain('4/1000');
    fireEvent.keyDown(box, { key: 'Enter', shiftKey: true });
    expect(onSend).not.toHaveBeenCalled();
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSend).toHaveBeenCalledWith('hi 😀');
    expect((box as HTMLTextAreaElement).value).toBe('');
  });

  it('refuses to send over 1000 characters and says by how much', () => {
    const onSend = vi.fn();
    render(<Composer room="r" connected onSend={onSend} />);
    const box = screen.getByLabelText('Message #r');
    fireEvent.change(box, { target: { value: 'x'.repeat(1003) } });
    expect(screen.getByTestId('char-counter').textContent).toContain('1003/1000');
    expect(screen.getByText('Too long by 3 characters')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Send message' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onSend).not.toHaveBeenCalled();
  });

  it('tells the user that messages wait while offline', () => {
    render(<Composer room="r" connected={false} onSend={() => {}} />);
    expect(screen.getByText(/sent when the connection is back/)).toBeTruthy();
  });
});
