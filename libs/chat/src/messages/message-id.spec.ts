import { createHash } from 'node:crypto';
import { messageIdFor } from './message-id';

describe('messageIdFor', () => {
  const key = { conversation_id: '64b000000000000000000001', sender_id: 'alice', client_msg_id: 'c-1' };
  it('is stable for the same tenant and key', () => {
    expect(messageIdFor('t1', key).equals(messageIdFor('t1', { ...key }))).toBe(true);
  });
  it('differs by tenant, conversation, sender and client_msg_id', () => {
    const base = messageIdFor('t1', key).toHexString();
    expect(messageIdFor('t2', key).toHexString()).not.toBe(base);
    expect(messageIdFor('t1', { ...key, conversation_id: '64b000000000000000000002' }).toHexString()).not.toBe(base);
    expect(messageIdFor('t1', { ...key, sender_id: 'bob' }).toHexString()).not.toBe(base);
    expect(messageIdFor('t1', { ...key, client_msg_id: 'c-2' }).toHexString()).not.toBe(base);
  });
  it('does not confuse field boundaries', () => {
    expect(messageIdFor('t1', { ...key, sender_id: 'a', client_msg_id: 'b\u0000c' }).toHexString()).not.toBe(
      messageIdFor('t1', { ...key, sender_id: 'a\u0000b', client_msg_id: 'c' }).toHexString(),
    );
  });
  it('is the first 96 bits of SHA-256 over the JSON of the key, as stored ids were made (retries of stored messages still match)', () => {
    const digest = createHash('sha256').update(JSON.stringify(['message-id-v1', 't1', key.conversation_id, key.sender_id, key.client_msg_id])).digest();
    expect(messageIdFor('t1', key).toHexString()).toBe(digest.subarray(0, 12).toString('hex'));
  });
});
