import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsMongoId, IsObject, IsOptional, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import { IsPlainText } from '@chat/errors';

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

export class PeriodQueryDto {
  @ApiProperty({ example: '2026-10' }) @Matches(PERIOD, { message: 'period must be YYYY-MM' }) period!: string;
}

export class UsageAdminQueryDto extends PeriodQueryDto {
  @ApiProperty() @IsMongoId() tenant_id!: string;
}

export class GenerateInvoicesDto {
  @ApiProperty({ example: '2026-10', description: 'a closed month (UTC)' }) @Matches(PERIOD, { message: 'period must be YYYY-MM' }) period!: string;
  @ApiPropertyOptional({ description: 'only this tenant' }) @IsOptional() @IsMongoId() tenant_id?: string;
}

export class ListInvoicesQueryDto {
  @ApiPropertyOptional() @IsOptional() @Matches(PERIOD, { message: 'period must be YYYY-MM' }) period?: string;
  @ApiPropertyOptional() @IsOptional() @IsMongoId() tenant_id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(/^inv_\d{4}-\d{2}_[A-Za-z0-9_-]{1,64}$/) cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
}

export class InvoiceIdParamDto {
  @ApiProperty() @Matches(/^inv_\d{4}-\d{2}_[A-Za-z0-9_-]{1,64}$/, { message: 'not an invoice id' }) id!: string;
}

export class DownloadQueryDto {
  @ApiPropertyOptional({ enum: ['json', 'csv'], default: 'json' }) @IsOptional() @IsIn(['json', 'csv']) format?: 'json' | 'csv';
}

class Totals {
  @ApiProperty() @IsInt() @Min(0) messages_sent!: number;
  @ApiProperty() @IsInt() @Min(0) active_users!: number;
  @ApiProperty() @IsInt() @Min(0) peak_connections!: number;
  @ApiProperty() @IsInt() @Min(0) storage_bytes!: number;
  @ApiProperty() @IsInt() @Min(0) api_calls!: number;
}

class Price {
  @ApiProperty() @IsInt() @Min(1) unit!: number;
  @ApiProperty() @IsInt() @Min(0) unit_price_cents!: number;
}

class Overage {
  @ApiProperty() @IsObject() @ValidateNested() @Type(() => Price) messages_sent!: Price;
  @ApiProperty() @IsObject() @ValidateNested() @Type(() => Price) active_users!: Price;
  @ApiProperty() @IsObject() @ValidateNested() @Type(() => Price) peak_connections!: Price;
  @ApiProperty() @IsObject() @ValidateNested() @Type(() => Price) storage_bytes!: Price;
  @ApiProperty() @IsObject() @ValidateNested() @Type(() => Price) api_calls!: Price;
}

export class PlanCodeParamDto {
  @ApiProperty() @Matches(/^[a-z][a-z0-9_-]{0,31}$/) code!: string;
}

export class SavePlanDto {
  @ApiProperty() @IsString() @Length(1, 100) @IsPlainText() name!: string;
  @ApiProperty({ example: 'USD' }) @Matches(/^[A-Z]{3}$/) currency!: string;
  @ApiProperty() @IsInt() @Min(0) base_fee_cents!: number;
  @ApiProperty() @IsObject() @ValidateNested() @Type(() => Totals) included!: Totals;
  @ApiProperty() @IsObject() @ValidateNested() @Type(() => Overage) overage!: Overage;
}
