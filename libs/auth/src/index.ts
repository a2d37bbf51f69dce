export * from './principal';
export * from './admin-token.service';
export * from './user-token.service';
export * from './user-jwt.strategy';
export * from './guards';
export * from './decorators';
export * from './auth.module';
