import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENT_TYPES, type WebhookDeliveryStatus } from '@chat/contracts';

const EVENTS = ['*', ...WEBHOOK_EVENT_TYPES];

export class CreateWebhookDto {
  /** https URL (http only with WEBHOOK_ALLOW_INSECURE_URLS). */
  @ApiProperty({ example: 'https://example.com/chat-webhooks' }) @IsString() @MaxLength(2000) url!: string;
  /** Event types, or `*` for all (default). */
  @ApiPropertyOptional({ type: [String], example: ['message.new', 'member.added'] })
  @IsOptional() @IsArray() @ArrayNotEmpty() @ArrayMaxSize(50) @IsIn(EVENTS, { each: true })
  events?: string[];
  @ApiPropertyOptional() @IsOptional() @IsBoolean() active?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500) description?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(2000) url?: string;
  @ApiPropertyOptional({ type: [String] }) @IsOptional() @IsArray() @ArrayNotEmpty() @ArrayMaxSize(50) @IsIn(EVENTS, { each: true }) events?: string[];
  /** true also clears a 410 disable. */
  @ApiPropertyOptional() @IsOptional() @IsBoolean() active?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500) description?: string;
}

/** How long the previous secret keeps signing too (0: at once replaced). Default KEY_ROTATION_GRACE_SECONDS. */
export class RotateWebhookSecretDto {
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(30 * 86400) grace_seconds?: number;
}

export class WebhookPageQueryDto {
  @ApiPropertyOptional() @IsOptional() @Matches(/^[0-9a-f]{24}$/, { message: 'cursor must be a next_cursor value' }) cursor?: string;
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
}

export class DeliveriesQueryDto {
  /** `dead` is the dead-letter list. */
  @ApiPropertyOptional({ enum: [...WEBHOOK_DELIVERY_STATUSES] }) @IsOptional() @IsIn(WEBHOOK_DELIVERY_STATUSES) status?: WebhookDeliveryStatus;
  @ApiPropertyOptional() @IsOptional() @Matches(/^\d{1,15}_[A-Za-z0-9_:]{1,200}$/, { message: 'cursor must be a next_cursor value' }) cursor?: string;
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
}

export class ReplaySinceDto {
  /** Every delivery created since this instant (ISO 8601) that is not pending is sent again. */
  @ApiProperty() @IsISO8601({ strict: true }) since!: string;
}
