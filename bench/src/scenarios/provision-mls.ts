import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { HttpClient } from '../../../libs/sdk/src/http';
import { MlsDevice, sealV2, type MlsMessageContent } from '../../../libs/sdk/src/mls';
import { mapLimit, type Provisioned } from './provision';
import type { Plan } from './plan';

/**
 * E2E v2 envelopes for `--e2e v2` (docs/e2e.md, "Wire format v2"): one sealed envelope per sender,
 * made once before the run and reused by every send of that sender (as v1's templates are), so the
 * generator spends its core on sending.
 */

const DEVICE = 'bench';
const SIZES = [24, 60, 140, 300];
const plaintextOf = (sender: number) => new TextEncoder().encode('x'.repeat(SIZES[sender % SIZES.length]!));

/**
 * The project: a real MLS group per conversation through the SDK's REST Delivery Service. Every member
 * but the first publishes one key package per conversation; the first member claims them and posts one
 * commit adding everyone (with the Welcome), as the SDK's `createGroup` does. Each sender's envelope is
 * sealed under the group's epoch key (the key a member has after joining from that Welcome) and signed
 * with the sender's own MLS leaf key (its key package's, which the commit put into the tree).
 */
export async function provisionMlsProject(plan: Plan, base: string, prov: Provisioned, log: (l: string) => void): Promise<MlsMessageContent[]> {
  const t0 = Date.now();
  const http = (u: number) => new HttpClient({ baseUrl: base, timeoutMs: 120_000 }, async () => ({ authorization: `Bearer ${prov.tokens[u]}` }));
  const inConvs = new Array<number>(plan.users).fill(0);
  for (const c of plan.conversations) for (const m of c.members.slice(1)) inConvs[m]!++;
  const devices = await mapLimit(Array.from({ length: plan.users }, (_, u) => u), 8, async (u) => {
    const d = await MlsDevice.connect(http(u), DEVICE);
    if (inConvs[u]) await d.publishKeyPackages(inConvs[u]!);
    return d;
  });
  log(`project: ${plan.users} MLS devices, key packages published in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const t1 = Date.now();
  const groups = await mapLimit(plan.conversations, 4, async (c, i) => {
    const creator = devices[c.members[0]!]!;
    const groupId = await creator.createGroup(prov.conversationIds[i]!, c.members.slice(1).map((m) => prov.userIds[m]!));
    return { groupId, ...(await creator.client.exportEpochKey(groupId)) };
  });
  log(`project: ${groups.length} MLS groups created (one commit each) in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  return Promise.all(
    plan.senders.map((s, i) => {
      const d = devices[s.user]!;
      const g = groups[s.conversation]!;
      return sealV2({
        binding: {
          tenantId: d.client.identity.tenantId,
          conversationId: prov.conversationIds[s.conversation]!,
          senderUserId: prov.userIds[s.user]!,
          senderDeviceId: DEVICE,
          groupId: g.groupId,
          epoch: Number(g.epoch),
          type: 'text',
        },
        key: g.key,
        sign: (bytes) => d.client.signWithLeafKey(bytes),
        plaintext: plaintextOf(i),
      });
    }),
  );
}

/** The baselines check nothing: envelopes of the same shape and size, sealed under random keys. */
export function mlsBaselineEnvelopes(plan: Plan, prov: Provisioned): Promise<MlsMessageContent[]> {
  const groupIds = plan.conversations.map(() => randomBytes(16).toString('hex'));
  const signKey = ed25519.utils.randomSecretKey();
  return Promise.all(
    plan.senders.map((s, i) =>
      sealV2({
        binding: { tenantId: 'bench', conversationId: prov.conversationIds[s.conversation]!, senderUserId: prov.userIds[s.user]!, senderDeviceId: DEVICE, groupId: groupIds[s.conversation]!, epoch: 1, type: 'text' },
        key: randomBytes(32),
        sign: async (bytes) => ed25519.sign(bytes, signKey),
        plaintext: plaintextOf(i),
      }),
    ),
  );
}
