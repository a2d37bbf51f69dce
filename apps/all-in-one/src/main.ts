import 'reflect-metadata';
import { runApp } from '@chat/server';
import { useSocketAdapter } from '../../gateway/src/socket-adapter';
import { AppModule } from './app.module';

void runApp(AppModule, { name: 'chat-platform', beforeListen: useSocketAdapter });
