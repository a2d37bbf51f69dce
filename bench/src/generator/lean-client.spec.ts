import { leanAckError, leanClientMsgId } from './lean-client';

describe('lean socket.io packet reading', () => {
  it('reads acks', () => {
    expect(leanAckError('4312[{"ok":true,"data":{"id":"x"}}]')).toBeNull();
    expect(leanAckError('437[{"error":{"code":"NOT_FOUND","message":"no"}}]')).toBe('NOT_FOUND');
    expect(leanAckError('437[42]')).toBe('BAD_ACK');
    expect(leanAckError('437[')).toBe('BAD_ACK');
  });

  it('finds the client message id of a delivery', () => {
    expect(leanClientMsgId('42["message:new",{"id":"a","client_msg_id":"b-0-5-123","content":{}}]')).toBe('b-0-5-123');
    expect(leanClientMsgId('42["presence",{"user_id":"u1"}]')).toBeUndefined();
  });
});
