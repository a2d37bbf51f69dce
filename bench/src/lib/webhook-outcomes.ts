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
    const attempts = db.collection('webhook_attempts');
    const [all, ok, pending, retried] = await Promise.all([
      attempts.countDocuments({}),
      attempts.countDocuments({ status_code: { $gte: 200, $lt: 300 } }),
      db.collection('webhook_pending').countDocuments({}),
      db.collection('webhook_pending').countDocuments({ attempts: { $gte: 1 } }),
    ]);
    const finished = await db.collection('webhook_deliveries').aggregate<{ _id: string; n: number }>([{ $group: { _id: '$status', n: { $sum: 1 } } }]).toArray();
    const byStatus = finished.map((f) => `${f._id} ${f.n}`).join(', ') || 'none';
    return `webhook attempts logged: ${all} (${ok} 2xx, ${all - ok} failed); rows pending: ${pending} (${retried} after a failed attempt); finished rows: ${byStatus}`;
  } catch (err) {
    return `webhook outcomes not read: ${(err as Error).message}`;
  } finally {
    await client.close();
  }
}
