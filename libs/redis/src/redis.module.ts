import { Global, Module } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { RedisService } from './redis.service';

@Global()
@Module({
  providers: [{ provide: RedisService, inject: [AppConfig], useFactory: (c: AppConfig) => RedisService.create(c) }],
  exports: [RedisService],
})
export class RedisModule {}
