import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBase64, IsIn, IsInt, IsMongoId, IsObject, IsOptional, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import { DEVICE_ID_RE } from '@chat/keys';

const U32_MAX = 0xffffffff;

export class PublishDeviceKeyDto {
  @ApiProperty({ description: 'key version; a rotation publishes a higher one', minimum: 1 }) @IsInt() @Min(1) @Max(U32_MAX) key_version!: number;
  @ApiProperty({ description: 'base64 X25519 public key (32 bytes)' }) @IsString() @Length(44, 44) @IsBase64() public_key!: string;
  @ApiPropertyOptional({ description: 'base64 Ed25519 public key (32 bytes) the device signs its messages with' })
  @IsOptional()
  @IsString()
  @Length(44, 44)
  @IsBase64()
  signing_key?: string;
}

export class UserKeysQueryDto {
  @ApiPropertyOptional({ enum: ['current', 'all'], default: 'current', description: 'all: every version of every device, revoked ones too (to verify signatures of old messages)' })
  @IsOptional()
  @IsIn(['current', 'all'])
  versions?: 'current' | 'all';
}

export class WrappedKeyEntryDto {
  @ApiProperty() @IsString() @Length(1, 128) user_id!: string;
  @ApiProperty() @IsString() @Matches(DEVICE_ID_RE, { message: 'device_id must be 1-64 characters of A-Z a-z 0-9 _ . : -' }) device_id!: string;
  @ApiProperty() @IsInt() @Min(0) @Max(U32_MAX) key_version!: number;
  @ApiProperty({ description: 'base64(nonce || ciphertext || tag)' }) @IsString() @Length(1, 512) @IsBase64() wrapped_key!: string;
}

export class WrappedKeySetDto {
  @ApiProperty({ description: 'base64 X25519 ephemeral public key shared by the entries' }) @IsString() @Length(44, 44) @IsBase64() ephemeral_public_key!: string;
  @ApiProperty({ type: [WrappedKeyEntryDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => WrappedKeyEntryDto)
  encrypted_key!: WrappedKeyEntryDto[];
}

export class CreateConversationKeyDto extends WrappedKeySetDto {
  @ApiProperty({ minimum: 1 }) @IsInt() @Min(1) @Max(U32_MAX) key_version!: number;
  @ApiProperty({ description: 'hex(HKDF(conversation key, "key-check-v1")[0..16]): lets members recognise the genuine key' })
  @IsString()
  @Matches(/^[0-9a-f]{32}$/)
  key_check!: string;
}

export class MessageKeyShareDto extends WrappedKeySetDto {
  @ApiProperty() @IsMongoId() message_id!: string;
}

export class ShareMessageKeysDto {
  @ApiProperty({ type: [MessageKeyShareDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => MessageKeyShareDto)
  shares!: MessageKeyShareDto[];
}

export class MessageKeySharesQueryDto {
  @ApiPropertyOptional({ description: 'comma-separated message ids (at most 100)' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',').filter(Boolean) : value))
  @IsArray()
  @ArrayMaxSize(100)
  @IsMongoId({ each: true })
  message_ids?: string[];
  @ApiPropertyOptional() @IsOptional() @IsMongoId() cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
}
