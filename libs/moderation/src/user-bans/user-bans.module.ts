import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuditModule } from '@chat/audit';
import { CacheModule } from '@chat/cache';
import { ChatModule } from '@chat/chat';
import { ModerationTrail } from '../common/moderation-events';
import { USER_BAN_MODEL, UserBanSchema } from './user-ban.schema';
import { UserBansRepository } from './user-bans.repository';
import { UserBansService } from './user-bans.service';

/**
 * Tenant-wide user bans. Imported by AuthModule (the access check of every request reads them). The
 * chat core (users, the bus) is imported; UserBansService still treats it as optional.
 */
@Module({
  imports: [CacheModule, AuditModule, ChatModule, MongooseModule.forFeature([{ name: USER_BAN_MODEL, schema: UserBanSchema }])],
  providers: [UserBansRepository, UserBansService, ModerationTrail],
  exports: [UserBansService, ModerationTrail],
})
export class UserBansModule {}
