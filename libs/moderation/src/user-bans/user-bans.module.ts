import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { CacheModule } from '@chat/cache';
import { ModerationTrail } from '../common/moderation-events';
import { USER_BAN_MODEL, UserBanSchema } from './user-ban.schema';
import { UserBansRepository } from './user-bans.repository';
import { UserBansService } from './user-bans.service';

/**
 * Tenant-wide user bans. Imported by AuthModule (the access check of every request reads them), so it
 * needs nothing from the chat core; the chat pieces it uses when present are optional.
 */
@Module({
  imports: [CacheModule, MongooseModule.forFeature([{ name: USER_BAN_MODEL, schema: UserBanSchema }])],
  providers: [UserBansRepository, UserBansService, ModerationTrail],
  exports: [UserBansService, ModerationTrail],
})
export class UserBansModule {}
