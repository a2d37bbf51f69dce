import { Schema } from 'mongoose';

/**
 * `billing`: price lists (`kind: 'plan'`, _id `plan:<code>`) and invoices (`kind: 'invoice'`, _id
 * `inv_<YYYY-MM>_<tenant>`). A platform collection (cross-tenant by nature): invoices carry tenant_id
 * so a tenant's records are found for export and erasure.
 */
export const BILLING_MODEL = 'BillingRecord';

export const BillingSchema = new Schema(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true, enum: ['plan', 'invoice'] },
    tenant_id: { type: String },
    period: { type: String },
  },
  { collection: 'billing', versionKey: false, strict: false },
);
BillingSchema.index({ kind: 1, period: 1, _id: 1 });
BillingSchema.index({ tenant_id: 1, kind: 1, period: -1 });
