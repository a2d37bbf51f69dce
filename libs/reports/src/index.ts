export * from './report.schema';
export * from './report.dto';
export * from './report.views';
export * from './reports.repository';
export * from './reports.service';
export * from './reports.module';
