import type { UserBansService } from './user-bans.service';
import { userBanPort } from './user-ban-port';

describe('userBanPort', () => {
  it('bans as the API key or the admin named by the caller, with the expiry as ISO text', async () => {
    const calls: unknown[][] = [];
    const bans = { ban: async (...args: unknown[]) => void calls.push(args) } as unknown as UserBansService;
    const port = userBanPort(bans);
    await port.ban('bob', { reason: 'report 1', expiresAt: new Date('2030-01-01T00:00:00Z'), by: { type: 'api_key', id: 'k1' } });
    await port.ban('eve', { reason: null, expiresAt: null, by: { type: 'admin', id: 'a1' } });
    expect(calls).toEqual([
      [{ kind: 'server', keyId: 'k1' }, 'bob', { reason: 'report 1', expires_at: '2030-01-01T00:00:00.000Z' }],
      [{ kind: 'admin', adminId: 'a1' }, 'eve', { reason: null, expires_at: null }],
    ]);
  });
});
