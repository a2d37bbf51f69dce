import type { BillingPlan } from '@chat/contracts';

const GB = 1024 ** 3;

/**
 * Defaults for the platform's plans (libs/platform PLANS); admins can change prices in `billing`. Amounts
 * are integer cents (no floating point in money); overage is charged per started unit (priceInvoice).
 */
export const DEFAULT_BILLING_PLANS: BillingPlan[] = [
  {
    code: 'free',
    name: 'Free',
    currency: 'USD',
    base_fee_cents: 0,
    included: { messages_sent: 100_000, active_users: 1_000, peak_connections: 100, storage_bytes: 1 * GB, api_calls: 1_000_000 },
    overage: {
      messages_sent: { unit: 1_000, unit_price_cents: 10 },
      active_users: { unit: 1, unit_price_cents: 5 },
      peak_connections: { unit: 1, unit_price_cents: 10 },
      storage_bytes: { unit: GB, unit_price_cents: 25 },
      api_calls: { unit: 10_000, unit_price_cents: 10 },
    },
  },
  {
    code: 'pro',
    name: 'Pro',
    currency: 'USD',
    base_fee_cents: 49_900,
    included: { messages_sent: 10_000_000, active_users: 100_000, peak_connections: 10_000, storage_bytes: 100 * GB, api_calls: 50_000_000 },
    overage: {
      messages_sent: { unit: 1_000, unit_price_cents: 5 },
      active_users: { unit: 1, unit_price_cents: 3 },
      peak_connections: { unit: 1, unit_price_cents: 5 },
      storage_bytes: { unit: GB, unit_price_cents: 20 },
      api_calls: { unit: 10_000, unit_price_cents: 5 },
    },
  },
  {
    code: 'enterprise',
    name: 'Enterprise',
    currency: 'USD',
    base_fee_cents: 499_900,
    included: { messages_sent: 500_000_000, active_users: 10_000_000, peak_connections: 200_000, storage_bytes: 10_000 * GB, api_calls: 1_000_000_000 },
    overage: {
      messages_sent: { unit: 1_000, unit_price_cents: 2 },
      active_users: { unit: 1, unit_price_cents: 1 },
      peak_connections: { unit: 1, unit_price_cents: 2 },
      storage_bytes: { unit: GB, unit_price_cents: 10 },
      api_calls: { unit: 10_000, unit_price_cents: 2 },
    },
  },
];
