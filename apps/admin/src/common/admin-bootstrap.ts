import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { PlatformAdminService } from '@chat/platform';

/** Creates the first platform admin on first start (see PlatformAdminService.bootstrap). */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  constructor(private readonly admins: PlatformAdminService) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.admins.bootstrap();
  }
}
