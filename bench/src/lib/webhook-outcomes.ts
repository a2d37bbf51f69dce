import { MongoClient } from 'mongodb';

/**
 * What the project made of the run's webhooks, read from its database once the phase is over (the
 * in-process dispatcher's and the delivery worker's writes alike, which the server's /metrics does not
 * split out): attempt logs (2xx or not), rows still pending (how many of them retried at least once)
 * and finished rows by status.
 */
export async function webhookOutcomes(mongoUri: string, dbName: string): Promise<string> {
  const client = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 5000 });
  try {
    const db = client.db(dbName);
    // One read per collection (not counts side by side): a batch of outcomes written between two counts would skew them.
    const attempts = await db.collection('webhook_attempts').find({}, { projection: { _id: 0, status_code: 1 } }).toArray();
    const ok = attempts.filter((a) => a.status_code >= 200 && a.status_code < 300).length;
    const all = attempts.length;
    const rows = await db.collection('webhook_pending').find({}, { projection: { _id: 0, attempts: 1 } }).toArray();
    const pending = rows.length;
    const retried = rows.filter((r) => r.attempts >= 1).length;
    const statuses = new Map<string, number>();
    for (const d of await db.collection('webhook_deliveries').find({}, { projection: { _id: 0, status: 1 } }).toArray()) statuses.set(d.status, (statuses.get(d.status) ?? 0) + 1);
    const byStatus = [...statuses].map(([status, n]) => `${status} ${n}`).join(', ') || 'none';
    return `webhook attempts logged: ${all} (${ok} 2xx, ${all - ok} failed); rows pending: ${pending} (${retried} after a failed attempt); finished rows: ${byStatus}`;
  } catch (err) {
    return `webhook outcomes not read: ${(err as Error).message}`;
  } finally {
    await client.close();
  }
}
