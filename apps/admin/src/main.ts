import 'reflect-metadata';
import { runApp } from '@chat/server';
import { AdminModule } from './admin.module';

void runApp(AdminModule, { name: 'admin', title: 'Chat platform admin API', web: false });
