import { Module } from '@nestjs/common';
import { UsageController } from './usage.controller';

/** Needs UsageModule (global, imported by the app module). */
@Module({ controllers: [UsageController] })
export class UsageApiModule {}
