import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBase64,
  IsIn,
  IsInt,
  IsMongoId,
  IsNotEmptyObject,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { DEVICE_ID_RE } from '@chat/keys';
import { MESSAGE_CONTENT_TYPES, MessageContentType } from './message.schema';

const U32_MAX = 0xffffffff;
/** Blind-index tokens: the SDK sends 32 hex chars; other encodings of a keyed hash are accepted too. */
export const SEARCH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;
export const MAX_SEARCH_TOKENS_PER_MESSAGE = 512;
/** Tokens of one query (one set): the words searched for, all required. */
export const MAX_SEARCH_TOKENS_PER_QUERY = 16;
/** Token sets of one query (E2E v2: one per epoch key the client holds; docs/search.md). */
export const MAX_SEARCH_TOKEN_SETS = 32;
/**
 * An encrypted preview: v1 is base64(nonce || ciphertext || tag) under the conversation key; v2 names
 * the MLS group and epoch whose history key made it, "p2.<group hex>.<epoch>.<base64>" (docs/e2e.md).
 */
export const PREVIEW_PATTERN = /^(?:p2\.[0-9a-f]{2,128}\.\d{1,16}\.)?(?=(?:.{4})+$)[A-Za-z0-9+/]+={0,2}$/;
export const MAX_MENTIONS = 100;
/** A franking commitment: HMAC-SHA256 output (32 bytes) in padded base64. */
export const FRANKING_COMMITMENT_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const DEVICE_ID_MESSAGE = 'device_id must be 1-64 characters of A-Z a-z 0-9 _ . : -';
/** Message positions: beyond this a JSON number is no longer an exact integer. */
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export class WrappedKeyDto {
  @ApiProperty() @IsString() @Length(1, 128) user_id!: string;
  @ApiProperty() @IsString() @Matches(DEVICE_ID_RE, { message: DEVICE_ID_MESSAGE }) device_id!: string;
  @ApiProperty() @IsInt() @Min(0) @Max(U32_MAX) key_version!: number;
  @ApiProperty({ description: 'base64 wrapped content key' }) @IsString() @Length(1, 512) @IsBase64() wrapped_key!: string;
}

const isV1 = (o: { version?: number }) => o.version !== 2;
const isV2 = (o: { version?: number }) => o.version === 2;

/**
 * The E2E envelope from the SDK. Shape only: the server never decrypts or interprets it. v1 (no
 * `version`, or 1) carries a wrapped key per recipient device; v2 names the conversation's MLS group
 * and epoch (docs/e2e.md, "Wire format v2"), checked against the Delivery Service at send time.
 */
export class MessageContentDto {
  @ApiProperty({ enum: MESSAGE_CONTENT_TYPES }) @IsIn(MESSAGE_CONTENT_TYPES) type!: MessageContentType;
  @ApiProperty({ example: 'x25519-hkdf-xchacha20poly1305-v1' }) @IsString() @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/) algorithm!: string;
  @ApiPropertyOptional({ enum: [1, 2], description: 'envelope version: absent or 1 for v1, 2 for MLS (v2)' }) @IsOptional() @IsIn([1, 2]) version?: 1 | 2;
  @ApiProperty({ description: 'a published device id of the sender' }) @IsString() @Matches(DEVICE_ID_RE, { message: `sender_${DEVICE_ID_MESSAGE}` }) sender_device_id!: string;
  @ApiPropertyOptional({ description: 'v1: key version of the sender device' }) @ValidateIf(isV1) @IsInt() @Min(0) @Max(U32_MAX) sender_key_version?: number;
  @ApiPropertyOptional({ description: 'v1: base64 X25519 ephemeral public key' }) @ValidateIf(isV1) @IsString() @Length(1, 256) @IsBase64() ephemeral_public_key?: string;
  @ApiProperty({ description: 'base64(nonce || ciphertext || tag)' }) @IsString() @Length(1, 16 * 1024 * 1024) @IsBase64() encrypted_data!: string;
  @ApiPropertyOptional({ type: [WrappedKeyDto], description: 'v1: the content key wrapped for each recipient device; every member needs at least one' })
  @ValidateIf(isV1)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => WrappedKeyDto)
  encrypted_key?: WrappedKeyDto[];
  @ApiPropertyOptional({ description: 'base64 Ed25519 signature (required in v2: by the MLS leaf signature key)' })
  @ValidateIf((o: { version?: number; signature?: string }) => isV2(o) || o.signature !== undefined)
  @IsString()
  @Length(1, 256)
  @IsBase64()
  signature?: string;
  @ApiPropertyOptional({ description: 'v2: hex MLS group id of the conversation' }) @ValidateIf(isV2) @IsString() @Matches(/^[0-9a-f]{2,128}$/) group_id?: string;
  @ApiPropertyOptional({ description: 'v2: MLS epoch the message is sealed for (must be the group epoch at the server)' })
  @ValidateIf(isV2)
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  epoch?: number;
  @ApiPropertyOptional({ description: 'base64 HMAC-SHA256 franking commitment (32 bytes) to the payload, for verifiable reports (docs/moderation.md); stored as sent' })
  @IsOptional()
  @IsString()
  @Matches(FRANKING_COMMITMENT_PATTERN, { message: 'franking_commitment must be 32 bytes in base64 (44 characters)' })
  franking_commitment?: string;
}

class MessageBodyFields {
  @ApiProperty({ type: MessageContentDto })
  @IsNotEmptyObject()
  @ValidateNested()
  @Type(() => MessageContentDto)
  content!: MessageContentDto;

  @ApiPropertyOptional({ type: [String], description: 'blind-index tokens of the message words (see docs/search.md)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_SEARCH_TOKENS_PER_MESSAGE)
  @Matches(SEARCH_TOKEN_PATTERN, { each: true })
  search_tokens?: string[];

  @ApiPropertyOptional({ type: [String], description: 'external ids of mentioned members' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_MENTIONS)
  @IsString({ each: true })
  @Length(1, 128, { each: true })
  mentions?: string[];

  @ApiPropertyOptional({ description: 'encrypted preview for the conversation list: v1 base64 (SDK encryptPreview), or v2 "p2.<group hex>.<epoch>.<base64>" (MlsChat)' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  @Matches(PREVIEW_PATTERN, { message: 'preview must be base64 (v1) or p2.<group hex>.<epoch>.<base64> (v2)' })
  preview?: string;
}

export class SendMessageDto extends MessageBodyFields {
  @ApiPropertyOptional({ description: 'idempotency key, unique per sender: a retried send returns the original message' })
  @IsOptional()
  @IsString()
  @Matches(/^(?!gap:)[A-Za-z0-9_.:-]{1,64}$/, { message: 'client_msg_id must be 1-64 characters of A-Z a-z 0-9 _ . : - (not starting with gap:)' })
  client_msg_id?: string;

  @ApiPropertyOptional({ description: 'reply in the thread of this (top-level) message' })
  @IsOptional()
  @IsMongoId()
  thread_parent_id?: string;
}

export class EditMessageDto extends MessageBodyFields {}

export class HistoryQueryDto {
  @ApiPropertyOptional({ description: 'messages with seq below this, newest first' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  before_seq?: number;

  @ApiPropertyOptional({ description: 'messages with seq above this, oldest first (sync)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  after_seq?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @Matches(/^[ab]\d{1,15}$/)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

export class ChangesQueryDto {
  @ApiPropertyOptional({ description: 'change position already applied (next_after_change of the previous answer); default 0: every change' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after_change?: number;

  @ApiPropertyOptional({ description: 'only messages with seq up to this (what the client holds)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  up_to_seq?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
}

export class RepliesQueryDto {
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(MAX_SEQ) after_seq?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(/^a\d{1,15}$/) cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
}

export class SeqDto {
  @ApiProperty({ description: 'position (message seq) reached' }) @IsInt() @Min(0) @Max(MAX_SEQ) seq!: number;
}

export class SearchTokenSetDto {
  @ApiProperty({ type: [String], description: 'blind-index tokens of the query words under one key' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_SEARCH_TOKENS_PER_QUERY)
  @Matches(SEARCH_TOKEN_PATTERN, { each: true })
  tokens!: string[];
}


/** Exactly one of `tokens` (one set) and `token_sets` (several: a message matches when it holds every token of one set). */
export class SearchMessagesDto {
  @ApiPropertyOptional({ type: [String], description: 'blind-index tokens of the query words; messages holding all of them match (required unless token_sets)' })
  @ValidateIf((o: { tokens?: unknown; token_sets?: unknown }) => o.tokens !== undefined || o.token_sets === undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_SEARCH_TOKENS_PER_QUERY)
  @Matches(SEARCH_TOKEN_PATTERN, { each: true })
  tokens?: string[];

  @ApiPropertyOptional({
    type: [SearchTokenSetDto],
    description: `E2E v2: the query under each epoch key (1-${MAX_SEARCH_TOKEN_SETS} sets of 1-${MAX_SEARCH_TOKENS_PER_QUERY} tokens); a message holding every token of any set matches. Not with tokens`,
  })
  @ValidateIf((o: { tokens?: unknown; token_sets?: unknown }) => o.token_sets !== undefined || o.tokens === undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_SEARCH_TOKEN_SETS)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => SearchTokenSetDto)
  token_sets?: SearchTokenSetDto[];

  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(MAX_SEQ) before_seq?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(/^b\d{1,15}$/) cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 }) @IsOptional() @IsInt() @Min(1) @Max(100) limit?: number;
}

/** Emoji (or a short code such as :+1:) as a path segment: no whitespace, no slash. */
export const EMOJI_PATTERN = /^[^\s/]{1,64}$/u;
