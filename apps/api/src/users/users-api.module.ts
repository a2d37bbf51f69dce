import { Module } from '@nestjs/common';
import { MeController } from './me.controller';
import { UsersController } from './users.controller';

/** REST for end users, their tokens and relationships; services come from the global ChatModule. */
@Module({
  controllers: [UsersController, MeController],
})
export class UsersApiModule {}
