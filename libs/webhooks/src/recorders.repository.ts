import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Schema } from 'mongoose';
import { replaceOrInsert } from '@chat/database';

/**
 * One document per running process that records webhook events (`webhook_recorders`, a platform
 * collection: a few documents, one per node): what it vouches for (FastPathWatermark.safeBefore) and
 * until when it promises its next heartbeat. A document past `expires_at` is a process that died (or
 * stalled) with changes possibly unrecorded since `safe_before`: the next sweep of any node covers that
 * window. A clean shutdown with everything recorded deletes its document.
 */
export interface RecorderDoc {
  _id: string;
  /** False for a process without a chat event bus (none of the shipped apps): it records nothing itself, so every sweeping node sweeps the whole window while it runs. */
  vouches: boolean;
  safe_before: Date;
  beat_at: Date;
  expires_at: Date;
}

export const WEBHOOK_RECORDER_MODEL = 'WebhookRecorder';
export const WebhookRecorderSchema = new Schema<RecorderDoc>(
  {
    _id: { type: String, required: true },
    vouches: { type: Boolean, required: true },
    safe_before: { type: Date, required: true },
    beat_at: { type: Date, required: true },
    expires_at: { type: Date, required: true },
  },
  { collection: 'webhook_recorders', versionKey: false, _id: false },
);

/** The recorders' heartbeats. Every read and write is by `_id` or of the whole (tiny) collection, so FerretDB serves them from its `_id` index. */
@Injectable()
export class RecordersRepository {
  constructor(@InjectModel(WEBHOOK_RECORDER_MODEL) private readonly model: Model<RecorderDoc>) {}

  async beat(doc: RecorderDoc): Promise<void> {
    await replaceOrInsert(this.model.collection, doc);
  }

  async all(): Promise<RecorderDoc[]> {
    return (await this.model.collection.find({}).toArray()) as unknown as RecorderDoc[];
  }

  /** Deletes a recorder's document unless it beat again since it was read (it was not dead after all). */
  async remove(id: string, beatAt?: Date): Promise<void> {
    await this.model.collection.deleteOne((beatAt ? { _id: id, beat_at: beatAt } : { _id: id }) as never);
  }
}
