import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Principal, UserAuth, UserPrincipal } from '@chat/auth';
import {
  ChangesPage,
  ChangesQueryDto,
  EditMessageDto,
  HistoryQueryDto,
  MessagesService,
  MessageView,
  Page,
  ReceiptView,
  RepliesQueryDto,
  SearchMessagesDto,
  SeqDto,
  SendMessageDto,
} from '@chat/chat';
import { ApiView, MESSAGE_EXAMPLE } from '@chat/api-docs';

/**
 * Messages of a conversation, for its members (end-user token). A conversation the caller is not in
 * answers 404 exactly like one that does not exist (or belongs to another tenant).
 */
@ApiTags('messages')
@Controller('v1/conversations/:id')
@UserAuth()
@ApiParam({ name: 'id', description: 'conversation id' })
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Post('messages')
  @ApiOperation({ summary: 'Send a message (E2E envelope). 201 with the stored message and its seq; a retried client_msg_id answers 200 with the original' })
  @ApiResponse({ status: 422, description: 'missing_recipient_keys: details.missing [{ user_id, device_id, key_version }]' })
  @ApiView('MessageView', { status: 201, description: 'stored', example: MESSAGE_EXAMPLE })
  @ApiView('MessageView', { description: 'duplicate client_msg_id: the original message' })
  async send(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: SendMessageDto, @Res({ passthrough: true }) res: Response): Promise<MessageView> {
    const { message, duplicate } = await this.messages.send(p.userId, id, dto);
    res.status(duplicate ? 200 : 201);
    return message;
  }

  @Get('messages')
  @ApiOperation({ summary: 'History by seq: newest first (before_seq / cursor), or oldest first after after_seq (catch-up). Index-served' })
  @ApiView.page('MessageView')
  history(@Principal() p: UserPrincipal, @Param('id') id: string, @Query() q: HistoryQueryDto): Promise<Page<MessageView>> {
    return this.messages.history(p.userId, id, q);
  }

  @Get('changes')
  @ApiOperation({ summary: 'Messages changed (edited, deleted, reacted to) after a change position, in change order: { changes, next_after_change, changes_has_more }' })
  @ApiView('ChangesPage')
  changes(@Principal() p: UserPrincipal, @Param('id') id: string, @Query() q: ChangesQueryDto): Promise<ChangesPage> {
    return this.messages.changes(p.userId, id, q);
  }

  @Post('messages/search')
  @HttpCode(200)
  @ApiOperation({ summary: 'Blind-index search: messages carrying every token, newest first (docs/search.md)' })
  @ApiView.page('MessageView')
  search(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: SearchMessagesDto): Promise<Page<MessageView>> {
    return this.messages.search(p.userId, id, dto);
  }

  @Get('messages/:message_id')
  @ApiOperation({ summary: 'One message' })
  @ApiView('MessageView')
  get(@Principal() p: UserPrincipal, @Param('id') id: string, @Param('message_id') messageId: string): Promise<MessageView> {
    return this.messages.get(p.userId, id, messageId);
  }

  @Get('messages/:message_id/replies')
  @ApiOperation({ summary: 'Thread replies of a message, oldest first' })
  @ApiView.page('MessageView')
  replies(@Principal() p: UserPrincipal, @Param('id') id: string, @Param('message_id') messageId: string, @Query() q: RepliesQueryDto): Promise<Page<MessageView>> {
    return this.messages.replies(p.userId, id, messageId, q);
  }

  @Patch('messages/:message_id')
  @ApiOperation({ summary: 'Edit (sender only): new envelope, tokens, mentions; sets edited_at' })
  @ApiView('MessageView')
  edit(@Principal() p: UserPrincipal, @Param('id') id: string, @Param('message_id') messageId: string, @Body() dto: EditMessageDto): Promise<MessageView> {
    return this.messages.edit(p.userId, id, messageId, dto);
  }

  @Delete('messages/:message_id')
  @ApiOperation({ summary: 'Delete (sender, or owner/admin of a group or channel): content removed, tombstone kept with deleted_at' })
  @ApiView('MessageView')
  remove(@Principal() p: UserPrincipal, @Param('id') id: string, @Param('message_id') messageId: string): Promise<MessageView> {
    return this.messages.remove(p.userId, id, messageId);
  }

  @Put('messages/:message_id/reactions/:emoji')
  @ApiOperation({ summary: 'Add my reaction (one per emoji per user; repeating is a no-op)' })
  @ApiView('MessageView')
  addReaction(@Principal() p: UserPrincipal, @Param('id') id: string, @Param('message_id') messageId: string, @Param('emoji') emoji: string): Promise<MessageView> {
    return this.messages.addReaction(p.userId, id, messageId, emoji);
  }

  @Delete('messages/:message_id/reactions/:emoji')
  @ApiOperation({ summary: 'Remove my reaction' })
  @ApiView('MessageView')
  removeReaction(@Principal() p: UserPrincipal, @Param('id') id: string, @Param('message_id') messageId: string, @Param('emoji') emoji: string): Promise<MessageView> {
    return this.messages.removeReaction(p.userId, id, messageId, emoji);
  }

  @Post('read')
  @HttpCode(200)
  @ApiOperation({ summary: 'Move my read position forward to seq (never back; capped at the last seq)' })
  @ApiView('ReceiptView')
  read(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: SeqDto): Promise<ReceiptView> {
    return this.messages.markRead(p.userId, id, dto.seq);
  }

  @Post('delivered')
  @HttpCode(200)
  @ApiOperation({ summary: 'Move my delivered position forward to seq' })
  @ApiView('ReceiptView')
  delivered(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: SeqDto): Promise<ReceiptView> {
    return this.messages.markDelivered(p.userId, id, dto.seq);
  }
}
