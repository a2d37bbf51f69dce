import { isInternalHost } from './webhook-endpoints.service';

describe('webhook URL hosts', () => {
  it('refuses loopback, private, link-local and local names; accepts public hosts', () => {
    for (const h of ['localhost', 'a.localhost', '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '[::1]', '[fd00::1]', '[::ffff:127.0.0.1]', 'db.internal']) {
      expect([h, isInternalHost(h)]).toEqual([h, true]);
    }
    for (const h of ['example.com', '8.8.8.8', '172.32.0.1', '[2001:db8::1]']) expect([h, isInternalHost(h)]).toEqual([h, false]);
  });
});
