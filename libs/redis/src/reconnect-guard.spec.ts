import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';
import { failFastOnceReady, FIRE_AND_FORGET_BY_ADAPTER, guardReconnectCommands, handleRejections } from './reconnect-guard';

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

describe('handleRejections (the socket.io adapter\'s clients)', () => {
  it('a publish nobody awaits is reported to the handler, not left unhandled; an awaiting caller still gets the error', async () => {
    const unhandled = jest.fn();
    const seen = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const fake = { publish: () => Promise.reject(new Error('Connection is closed.')) };
      const client = handleRejections(fake as unknown as Redis, FIRE_AND_FORGET_BY_ADAPTER, seen);
      void client.publish('chan', 'msg'); // what the adapter's broadcast does
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(unhandled).not.toHaveBeenCalled();
      expect(seen).toHaveBeenCalledWith(expect.objectContaining({ message: 'Connection is closed.' }), 'publish');
      await expect(client.publish('chan', 'msg')).rejects.toThrow('Connection is closed.');
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});

describe('failFastOnceReady', () => {
  it('keeps the offline queue until the first ready, then turns it off', () => {
    const fake = Object.assign(new EventEmitter(), { options: { enableOfflineQueue: true } });
    failFastOnceReady(fake as unknown as Redis);
    expect(fake.options.enableOfflineQueue).toBe(true);
    fake.emit('ready');
    expect(fake.options.enableOfflineQueue).toBe(false);
  });
});
