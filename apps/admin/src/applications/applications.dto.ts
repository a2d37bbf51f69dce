import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsFreeFormObject, IsPlainText } from '@chat/errors';
import { FREE_FORM_DOC } from '../tenants/tenants.dto';

export class CreateApplicationDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(200) @IsPlainText() name!: string;
  @ApiPropertyOptional(FREE_FORM_DOC) @IsOptional() @IsFreeFormObject() settings?: Record<string, unknown>;
}

export class UpdateApplicationDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(200) @IsPlainText() name?: string;
  @ApiPropertyOptional(FREE_FORM_DOC) @IsOptional() @IsFreeFormObject() settings?: Record<string, unknown>;
}

/** How long the previous secret / key keeps working (0: stops at once). Default KEY_ROTATION_GRACE_SECONDS. A JSON number: no coercion. */
export class RotateDto {
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(30 * 86400) grace_seconds?: number;
}
