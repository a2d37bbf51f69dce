import { BREAKER_THRESHOLD, EndpointBreakers } from './endpoint-breaker';

describe('EndpointBreakers', () => {
  let now = 1_000_000;
  // Backoff without jitter at its top (random = 1): base 1000 ms, doubling, capped at 8000 ms.
  const make = () => new EndpointBreakers(() => now, 1000, 8000, () => 1);
  const fail = (b: EndpointBreakers, n: number, probe = false) => {
    let last: ReturnType<EndpointBreakers['record']> = null;
    for (let i = 0; i < n; i++) last = b.record('ep', 't1', false, probe);
    return last;
  };

  beforeEach(() => {
    now = 1_000_000;
  });

  it('opens after BREAKER_THRESHOLD consecutive failures; a 2xx before then starts the count again', () => {
    const b = make();
    expect(fail(b, BREAKER_THRESHOLD - 1)).toBeNull();
    expect(b.record('ep', 't1', true)).toBeNull();
    expect(fail(b, BREAKER_THRESHOLD - 1)).toBeNull();
    expect(b.blocked('ep')).toBe(false);
    expect(b.admit('ep')).toBe(true);
    expect(fail(b, 1)).toBe('opened');
    expect(b.blocked('ep')).toBe(true);
    expect(b.probeAt('ep')).toBe(now + 1000);
    expect(b.admit('ep')).toBe(false);
    // Other endpoints are not affected.
    expect(b.admit('other')).toBe(true);
  });

  it('lets exactly one probe through at its time; a failed probe opens it again one backoff step later', () => {
    const b = make();
    fail(b, BREAKER_THRESHOLD);
    now += 999;
    expect(b.admit('ep')).toBe(false);
    now += 1;
    expect(b.blocked('ep')).toBe(false);
    expect(b.admit('ep')).toBe(true);
    expect(b.admit('ep')).toBe(false);
    expect(b.blocked('ep')).toBe(true);
    // An attempt in flight since before it opened fails meanwhile: not the probe, nothing moves.
    expect(b.record('ep', 't1', false, false)).toBeNull();
    expect(b.record('ep', 't1', false, true)).toBe('opened');
    expect(b.probeAt('ep')).toBe(now + 2000);
    now += 2000;
    expect(b.admit('ep')).toBe(true);
    expect(fail(b, 1, true)).toBe('opened');
    expect(b.probeAt('ep')).toBe(now + 4000);
    now += 4000;
    expect(b.admit('ep')).toBe(true);
    fail(b, 1, true);
    now += 8000;
    expect(b.admit('ep')).toBe(true);
    fail(b, 1, true);
    // Capped at the backoff maximum.
    expect(b.probeAt('ep')).toBe(now + 8000);
  });

  it('a probe that ended without an outcome lets another start; a 2xx (probe or not) closes it', () => {
    const b = make();
    fail(b, BREAKER_THRESHOLD);
    now += 1000;
    expect(b.admit('ep')).toBe(true);
    b.probeEnded('ep');
    expect(b.admit('ep')).toBe(true);
    expect(b.record('ep', 't1', true)).toBe('closed');
    expect(b.blocked('ep')).toBe(false);
    expect(b.probeAt('ep')).toBeNull();
    // Closed again: counting starts from zero.
    expect(fail(b, BREAKER_THRESHOLD - 1)).toBeNull();
    expect(b.record('ep', 't1', true, false)).toBeNull();
  });

  it('reset closes endpoints (all, of a tenant, or one) and names those that were open', () => {
    const b = make();
    fail(b, BREAKER_THRESHOLD);
    for (let i = 0; i < BREAKER_THRESHOLD; i++) b.record('ep2', 't2', false);
    b.record('ep3', 't2', false);
    expect(b.reset({ tenantId: 't1' })).toEqual(['ep']);
    expect(b.blocked('ep')).toBe(false);
    expect(b.blocked('ep2')).toBe(true);
    expect(b.reset({ endpointId: 'ep2' })).toEqual(['ep2']);
    expect(b.reset()).toEqual([]);
    // ep3 was forgotten too: its one failure no longer counts.
    for (let i = 0; i < BREAKER_THRESHOLD - 1; i++) expect(b.record('ep3', 't2', false)).toBeNull();
  });
});
