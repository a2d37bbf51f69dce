import 'reflect-metadata';
import { runApp } from '@chat/server';
import { GatewayModule } from './gateway.module';
import { useSocketAdapter } from './socket-adapter';

void runApp(GatewayModule, { name: 'gateway', docs: false, web: false, beforeListen: useSocketAdapter });
