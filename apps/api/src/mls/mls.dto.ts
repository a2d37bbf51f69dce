import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBase64, IsInt, IsMongoId, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';

const B64_FIELD_MAX = 16 * 1024 * 1024;

export class PublishKeyPackagesDto {
  @ApiPropertyOptional({ type: [String], description: 'base64 KeyPackage MLSMessages (one-time), credential identity tenant/user/device' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(22 * 1024, { each: true })
  @IsBase64(undefined, { each: true })
  key_packages?: string[];

  @ApiPropertyOptional({ description: 'base64 KeyPackage MLSMessage handed out when no one-time one is left (replaces the previous one)' })
  @IsOptional()
  @IsString()
  @MaxLength(22 * 1024)
  @IsBase64()
  last_resort?: string;
}

export class PostCommitDto {
  @ApiProperty({ description: 'the committing device' }) @IsString() @Length(1, 64) device_id!: string;
  @ApiProperty({ description: 'base64 commit MLSMessage (PrivateMessage or PublicMessage)' }) @IsString() @MaxLength(B64_FIELD_MAX) @IsBase64() commit!: string;
  @ApiProperty({ description: 'base64 GroupInfo MLSMessage of the epoch the commit leads to' }) @IsString() @MaxLength(B64_FIELD_MAX) @IsBase64() group_info!: string;
  @ApiPropertyOptional({ description: 'base64 Welcome MLSMessage for the added devices' }) @IsOptional() @IsString() @MaxLength(B64_FIELD_MAX) @IsBase64() welcome?: string;
}

export class PostMlsMessageDto {
  @ApiProperty({ description: 'the sending device' }) @IsString() @Length(1, 64) device_id!: string;
  @ApiProperty({ description: 'base64 application MLSMessage (PrivateMessage)' }) @IsString() @MaxLength(B64_FIELD_MAX) @IsBase64() message!: string;
}

export class MlsMessagesQueryDto {
  @ApiPropertyOptional({ description: 'id of the last message already seen' }) @IsOptional() @IsMongoId() after?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
}
