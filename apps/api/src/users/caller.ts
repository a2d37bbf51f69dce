import { Injectable } from '@nestjs/common';
import { UsersService, UserView } from '@chat/chat';
import { AppError, ErrorCode } from '@chat/errors';

/**
 * The end user behind a token must still exist and be active: a deleted user's outstanding token is
 * refused with 401, a deactivated user's with 403. One cached lookup per request.
 */
@Injectable()
export class CallerService {
  constructor(private readonly users: UsersService) {}

  async require(userId: string): Promise<UserView> {
    const user = await this.users.find(userId);
    if (!user) throw AppError.unauthorized('The user of this token does not exist');
    if (user.deactivated) throw new AppError(ErrorCode.Forbidden, 'User is deactivated');
    return user;
  }
}
