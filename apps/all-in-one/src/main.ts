import 'reflect-metadata';
import { runApp } from '@chat/server';
import { useSocketAdapter } from '../../gateway/src/socket-adapter';
import { AppModule } from './app.module';
import { startDeliveryWorker } from './delivery-worker-process';

void runApp(AppModule, {
  name: 'chat-platform',
  beforeListen: async (app) => {
    await useSocketAdapter(app);
    startDeliveryWorker(app);
  },
});
