/* The per-endpoint concurrency bound holds when a scan and the node's backlog start rows of one endpoint
 * at the same time (issue 14: "per-endpoint concurrency bounded"). A scan plans its rows against the
 * attempts in flight when it starts, then awaits their claim; rows recorded meanwhile start from the
 * backlog. Seen as a flake of test/webhooks-breaker (21 attempts where its bound allows 20). Real
 * FerretDB, Redis and a loopback receiver; the app's Clock is held by the test, and the scan's claim is
 * held until the backlog has filled the endpoint's slots, so the interleaving is forced, not timed. */
import { WebhookDeliveriesRepository, WebhookDispatcher, WebhookEndpointsRepository } from '@chat/webhooks';
import { WebhookSender } from '../libs/webhooks/src/webhook-sender';
import { waitFor } from './support/socket-client';
import { useTestClock } from './support/test-clock';
import { webhooksSuite } from './webhooks-helpers';

jest.setTimeout(120_000);

const BOUND = 4;

describe('webhooks: the per-endpoint concurrency bound', () => {
  // Attempts the receiver holds open must not time out (nor their leases run out) while the test arranges the race.
  const { t, receiver, world, send, endpoint, deliveries } = webhooksSuite({
    WEBHOOK_TIMEOUT_MS: '60000',
    WEBHOOK_LEASE_MS: '120000',
    WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT: String(BOUND),
  });

  it('rows a scan claimed while the backlog filled the endpoint wait for a slot', async () => {
    const dispatcher = t.app.get(WebhookDispatcher);
    const rows = t.app.get(WebhookDeliveriesRepository);
    const endpoints = t.app.get(WebhookEndpointsRepository);
    const sender = t.app.get(WebhookSender);
    const clock = useTestClock(t.app);

    // Attempts this node has started and whose receiver has not answered: what the bound bounds.
    let open = 0;
    let most = 0;
    const post = sender.post.bind(sender);
    jest.spyOn(sender, 'post').mockImplementation((...args: Parameters<WebhookSender['post']>) => {
      most = Math.max(most, ++open);
      return post(...args).finally(() => open--);
    });

    const r = await receiver();
    const held: Array<() => void> = [];
    let failing = BOUND;
    r.respond = () => (failing-- > 0 ? 500 : new Promise<number>((resolve) => held.push(() => resolve(200))));
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);

    // BOUND events whose first attempt fails (fewer failures than open the circuit): retries this node holds.
    for (let i = 0; i < BOUND; i++) await send(w);
    await waitFor(async () => (await deliveries(w.tenant, ep.id)).filter((d) => d.attempts === 1).length === BOUND, 30_000, 'first attempts failed and recorded');
    await waitFor(() => open === 0, 30_000, 'no attempt open');

    // The scan that retries them has its claim answered only once the backlog has filled the endpoint.
    let claimAsked!: () => void;
    const asked = new Promise<void>((resolve) => (claimAsked = resolve));
    let answerClaim!: () => void;
    const answer = new Promise<void>((resolve) => (answerClaim = resolve));
    const claimOwn = rows.claimOwn.bind(rows);
    jest.spyOn(rows, 'claimOwn').mockImplementationOnce(async (...args) => {
      claimAsked();
      await answer;
      return claimOwn(...args);
    });
    clock.advance(5_000);
    dispatcher.wake();
    await asked;

    // BOUND new events: leased to this node at insert, started from its backlog, held open by the receiver.
    for (let i = 0; i < BOUND; i++) await send(w);
    await waitFor(() => held.length === BOUND, 30_000, 'the backlog filled the endpoint');
    expect(open).toBe(BOUND);

    // The claim is answered; the scan reads the claimed rows' endpoint, then starts what it starts.
    let endpointsRead!: () => void;
    const read = new Promise<void>((resolve) => (endpointsRead = resolve));
    const findMany = endpoints.findMany.bind(endpoints);
    jest.spyOn(endpoints, 'findMany').mockImplementationOnce(async (...args) => {
      const found = await findMany(...args);
      setImmediate(endpointsRead);
      return found;
    });
    answerClaim();
    await read;
    expect(open).toBeLessThanOrEqual(BOUND);

    // The receiver answers from now on: every event is delivered, never more than BOUND attempts open.
    r.respond = () => 200;
    for (const release of held.splice(0)) release();
    await waitFor(async () => (await deliveries(w.tenant, ep.id, 'delivered')).length === 2 * BOUND, 30_000, 'all delivered');
    expect(most).toBeLessThanOrEqual(BOUND);
  });
});
