import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { QuotasModule } from '@chat/quotas';
import { RelationshipsService } from '../relationships/relationships.service';
import { LastSeenBuffer } from './last-seen.buffer';
import { USER_MODEL, UserSchema } from './user.schema';
import { USER_TOMBSTONE_MODEL, UserTombstoneSchema, UserTombstonesRepository } from './user-tombstones.repository';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** End users and their relationships (stored on the user document). */
@Module({
  imports: [
    QuotasModule,
    MongooseModule.forFeature([
      { name: USER_MODEL, schema: UserSchema },
      { name: USER_TOMBSTONE_MODEL, schema: UserTombstoneSchema },
    ]),
  ],
  providers: [UsersRepository, UserTombstonesRepository, UsersService, RelationshipsService, LastSeenBuffer],
  exports: [UsersRepository, UsersService, RelationshipsService, LastSeenBuffer],
})
export class UsersModule {}
