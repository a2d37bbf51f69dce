/**
 * The wire contract shared by the server and the SDK: what REST answers (views) and what travels over
 * socket.io (events, payloads, acks). Types, and the constant lists of wire values (`as const` arrays:
 * plans, quota fields, usage fields, file statuses...) that the server validates against: nothing else
 * runs here, so the SDK and the web app bundle it and stay browser-safe. The server's view builders
 * and gateway are typed against these (a lib that holds Dates derives its type with WithDates); the
 * OpenAPI component schemas are generated from them (libs/api-docs).
 */
export * from './common';
export * from './users';
export * from './conversations';
export * from './messages';
export * from './keys';
export * from './files';
export * from './mls';
export * from './platform';
export * from './webhooks';
export * from './billing';
export * from './reports';
export * from './moderation';
export * from './socket-events';
export * from './check';
