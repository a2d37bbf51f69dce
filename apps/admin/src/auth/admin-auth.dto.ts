import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { ADMIN_ROLES, AdminRole } from '@chat/platform';

const EMAIL_RE = /^[^@\s]{1,64}@[^@\s]{1,255}$/;

export class LoginDto {
  @ApiProperty() @IsString() @Matches(EMAIL_RE, { message: 'email must be an email address' }) email!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(1024) password!: string;
}

export class CreateAdminDto {
  @ApiProperty() @IsString() @Matches(EMAIL_RE, { message: 'email must be an email address' }) email!: string;
  @ApiProperty() @IsString() @MinLength(12) @MaxLength(1024) password!: string;
  @ApiProperty({ enum: ADMIN_ROLES }) @IsIn(ADMIN_ROLES) role!: AdminRole;
}

export class UpdateAdminDto {
  @ApiPropertyOptional({ enum: ADMIN_ROLES }) @IsOptional() @IsIn(ADMIN_ROLES) role?: AdminRole;
  @ApiPropertyOptional() @IsOptional() @IsIn(['active', 'disabled']) status?: 'active' | 'disabled';
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(12) @MaxLength(1024) password?: string;
}
