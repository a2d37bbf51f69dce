import { Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from './clock';

/** One Clock per app (tests replace its `now`, see test/support/test-clock.ts). */
@Global()
@Module({
  providers: [{ provide: Clock, useClass: SystemClock }],
  exports: [Clock],
})
export class ClockModule {}
