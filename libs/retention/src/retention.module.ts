import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { FileDeletionModule } from '@chat/files';
import { RetainedMessagesRepository, RetainedTombstonesRepository, RetentionPolicyRepository } from './retention.repositories';
import {
  RETAINED_MESSAGE_MODEL,
  RETAINED_TOMBSTONE_MODEL,
  RETENTION_POLICY_MODEL,
  RETENTION_REPORT_MODEL,
  RetainedMessageSchema,
  RetainedTombstoneSchema,
  RetentionPolicySchema,
  RetentionReportSchema,
} from './retention.schemas';
import { RetentionService } from './retention.service';

/** Message retention and legal hold, and the purge of deleted users' tombstones; the job runs every RETENTION_INTERVAL_SECONDS in the admin process. */
@Module({
  imports: [
    // Marks the files of the messages it deletes (no S3 or chat core needed: runs in the admin app and the CLI).
    FileDeletionModule,
    MongooseModule.forFeature([
      { name: RETENTION_POLICY_MODEL, schema: RetentionPolicySchema },
      { name: RETENTION_REPORT_MODEL, schema: RetentionReportSchema },
      { name: RETAINED_MESSAGE_MODEL, schema: RetainedMessageSchema },
      { name: RETAINED_TOMBSTONE_MODEL, schema: RetainedTombstoneSchema },
    ]),
  ],
  providers: [RetentionPolicyRepository, RetainedMessagesRepository, RetainedTombstonesRepository, RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {}
