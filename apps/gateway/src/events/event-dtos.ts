import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsMongoId, IsObject, IsOptional, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import { CanonicalConversationId, EditMessageDto, EMOJI_PATTERN, SendMessageDto } from '@chat/chat';
import { SYNC_LIMITS } from '@chat/realtime';

/** Client event payloads. Validated with validateDto (unknown fields refused), answered by ack; conversation ids in their one spelling. */

export class SendMessageEvent extends SendMessageDto {
  @IsMongoId() @CanonicalConversationId() conversation_id!: string;
}

export class EditMessageEvent extends EditMessageDto {
  @IsMongoId() @CanonicalConversationId() conversation_id!: string;
  @IsMongoId() message_id!: string;
}

export class MessageRefEvent {
  @IsMongoId() @CanonicalConversationId() conversation_id!: string;
  @IsMongoId() message_id!: string;
}

export class ReactionEvent extends MessageRefEvent {
  @IsString() @Matches(EMOJI_PATTERN, { message: 'emoji must be 1-64 characters without whitespace or slash' }) emoji!: string;
}

export class ConversationRefEvent {
  @IsMongoId() @CanonicalConversationId() conversation_id!: string;
}

export class ReadEvent extends ConversationRefEvent {
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) seq!: number;
}

export class SyncCursorDto {
  @IsMongoId() @CanonicalConversationId() conversation_id!: string;
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) after_seq!: number;
  /** Only seqs below this one (filling a gap seen in live delivery). */
  @IsOptional() @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) before_seq?: number;
  /** Also return the messages up to after_seq changed after this change position (0: all changes). */
  @IsOptional() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) after_change?: number;
}

export class SyncEvent {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SYNC_LIMITS.maxConversations)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => SyncCursorDto)
  conversations!: SyncCursorDto[];

  @IsOptional() @IsInt() @Min(1) @Max(SYNC_LIMITS.maxLimit) limit?: number;
}

export class PresenceQueryEvent {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Length(1, 256, { each: true })
  user_ids!: string[];
}
