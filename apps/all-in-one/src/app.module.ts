import { Module } from '@nestjs/common';
import { AdminModule } from '../../admin/src/admin.module';
import { ApiModule } from '../../api/src/api.module';
import { GatewayModule } from '../../gateway/src/gateway.module';

/** The three apps in one process on one port: what `npm start` runs. */
@Module({
  imports: [ApiModule, GatewayModule, AdminModule],
})
export class AppModule {}
