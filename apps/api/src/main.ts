import 'reflect-metadata';
import { runApp } from '@chat/server';
import { ApiModule } from './api.module';

void runApp(ApiModule, { name: 'api', title: 'Chat platform API' });
