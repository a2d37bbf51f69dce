import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { RetainedMessagesRepository, RetentionPolicyRepository } from './retention.repositories';
import {
  RETAINED_MESSAGE_MODEL,
  RETENTION_POLICY_MODEL,
  RETENTION_REPORT_MODEL,
  RetainedMessageSchema,
  RetentionPolicySchema,
  RetentionReportSchema,
} from './retention.schemas';
import { RetentionService } from './retention.service';

/** Message retention and legal hold; the job runs every RETENTION_INTERVAL_SECONDS in the admin process. */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: RETENTION_POLICY_MODEL, schema: RetentionPolicySchema },
      { name: RETENTION_REPORT_MODEL, schema: RetentionReportSchema },
      { name: RETAINED_MESSAGE_MODEL, schema: RetainedMessageSchema },
    ]),
  ],
  providers: [RetentionPolicyRepository, RetainedMessagesRepository, RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {}
