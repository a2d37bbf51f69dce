export * from './acks';
export * from './presence';
export * from './rate-limit';
export * from './rooms';
export * from './sync';
export * from './typing';
export * from './relay';
export * from './work-gate';
