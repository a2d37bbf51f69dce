import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { ChatModule } from '@chat/chat';
import { MeController } from './me.controller';
import { UsersController } from './users.controller';

/** REST for end users, their tokens and relationships; services from ChatModule. */
@Module({
  imports: [AuthModule, ChatModule],
  controllers: [UsersController, MeController],
})
export class UsersApiModule {}
