import { Body, Controller, Param, Post, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiView } from '@chat/api-docs';
import type { Response } from 'express';
import { ApiKeyAuth } from '@chat/auth';
import { MessageView } from '@chat/chat';
import { SystemMessageDto, SystemMessagesService } from '@chat/moderation';

/** System messages, posted by the SaaS client's server only (API key with `messages:write`). */
@ApiTags('messages')
@Controller('v1/conversations/:id/system-messages')
@ApiParam({ name: 'id', description: 'conversation id' })
export class SystemMessagesController {
  constructor(private readonly system: SystemMessagesService) {}

  @Post()
  @ApiKeyAuth('messages:write')
  @ApiOperation({ summary: 'Post a system message (plaintext, type system, e2e false) into a conversation: stored and delivered like any message' })
  @ApiView('MessageView', { status: 201, description: 'stored, with its seq' })
  @ApiView('MessageView', { description: 'a retried client_msg_id: the original' })
  @ApiNotFoundResponse({ description: 'no such conversation in this tenant' })
  async post(@Param('id') id: string, @Body() dto: SystemMessageDto, @Res({ passthrough: true }) res: Response): Promise<MessageView> {
    const { message, duplicate } = await this.system.post(id, dto);
    res.status(duplicate ? 200 : 201);
    return message;
  }
}
