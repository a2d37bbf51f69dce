import type Redis from 'ioredis';
import { guardReconnectCommands } from './reconnect-guard';

describe('guardReconnectCommands', () => {
  it('a fire-and-forget resubscribe that fails is not an unhandled rejection; an awaiting caller still gets the error', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const fake = { subscribe: () => Promise.reject(new Error('Connection is closed.')) };
      const client = guardReconnectCommands(fake as unknown as Redis);
      void client.subscribe('chan'); // what ioredis's ready handler does
      // Node reports a rejection still unhandled once the microtasks after it have run: by the next
      // turn of the event loop it would have been reported.
      await new Promise((r) => setImmediate(r));
      expect(unhandled).not.toHaveBeenCalled();
      await expect(client.subscribe('chan')).rejects.toThrow('Connection is closed.');
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
