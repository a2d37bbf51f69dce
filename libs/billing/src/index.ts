export * from './billing-plans';
export * from './billing.schema';
export * from './invoice';
export * from './billing.repository';
export * from './billing.service';
export * from './billing.module';
