// The bus lives in libs/events (infrastructure every app loads through CoreModule); chat code keeps importing it from here.
export { ChatEventBus } from '@chat/events';
export type { ChatEventMap, ChatEventName } from '@chat/events';
