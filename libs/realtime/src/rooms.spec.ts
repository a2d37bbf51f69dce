import { asTenantId } from '@chat/tenancy';
import { Rooms } from './rooms';

describe('Rooms', () => {
  const a = asTenantId('tenantA');
  const b = asTenantId('tenantB');

  it('names rooms with the tenant first', () => {
    expect(Rooms.user(a, 'u1')).toBe('t:tenantA:u:u1');
    expect(Rooms.conversation(a, 'c1')).toBe('t:tenantA:c:c1');
    expect(Rooms.tenant(a)).toBe('t:tenantA');
  });

  it('never lets two tenants share a room, whatever the ids contain', () => {
    const tricky = ['x', 'x:c:y', ':u:', 'tenantB:u:x', ''];
    const names = new Set<string>();
    for (const t of [a, b]) for (const id of tricky) {
      names.add(Rooms.user(t, id));
      names.add(Rooms.conversation(t, id));
    }
    expect(names.size).toBe(2 * 2 * tricky.length);
    for (const id of tricky) expect(Rooms.parse(Rooms.user(a, 'x' + id))).toMatchObject({ tenantId: 'tenantA', kind: 'user', id: 'x' + id });
  });

  it('parses only its own names', () => {
    expect(Rooms.parse('abc123socketid')).toBeNull();
    expect(Rooms.parse('t:tenantA')).toEqual({ tenantId: 'tenantA', kind: 'tenant' });
    expect(Rooms.parse('t:tenantA:c:42')).toEqual({ tenantId: 'tenantA', kind: 'conversation', id: '42' });
  });
});
