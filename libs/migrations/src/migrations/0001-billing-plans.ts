import { DEFAULT_BILLING_PLANS } from '@chat/billing';
import type { Migration } from '../migration';

/** Stores the default price list in `billing`, where admins can then change it. */
export const billingPlans0001: Migration = {
  version: 1,
  name: 'billing-default-plans',
  async up({ db }) {
    const now = new Date();
    for (const plan of DEFAULT_BILLING_PLANS) {
      await db.collection('billing').updateOne(
        { _id: `plan:${plan.code}` as never },
        { $setOnInsert: { kind: 'plan', ...plan, created_at: now, updated_at: now } },
        { upsert: true },
      );
    }
  },
  async down({ db }) {
    await db.collection('billing').deleteMany({ _id: { $in: DEFAULT_BILLING_PLANS.map((p) => `plan:${p.code}`) } } as never);
  },
};
