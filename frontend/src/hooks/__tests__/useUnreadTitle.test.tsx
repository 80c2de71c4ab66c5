// @vitest-environment jsdom
import { cleanup, renderHook } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../lib/messageLog';
import { useUnreadTitle } from '../useUnreadTitle';

let hidden = false;
Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
afterEach(cleanup);

const row = (id: string, userId: string, type = 'chat'): Row => ({
  kind: 'message',
  key: id,
  message: { messageId: id, roomId: 'r', type: type as 'chat', userId, username: userId, content: id, timestamp: '' },
});

describe('useUnreadTitle', () => {
  it('counts chat messages from others while hidden and resets when visible', () => {
    hidden = false;
    const { rerender } = renderHook(({ rows }) => useUnreadTitle('r', rows, 'me'), {
      initialProps: { rows: [row('a', 'bob')] },
    });
    hidden = true;
    rerender({ rows: [row('a', 'bob'), row('b', 'bob'), row('c', 'me'), row('d', 'eve', 'join'), row('e', 'eve')] });
    expect(document.title).toBe('(2) #r · Chat Analytics');
    hidden = false;
    document.dispatchEvent(new Event('visibilitychange'));
    expect(document.title).toBe('#r · Chat Analytics');
  });
});
