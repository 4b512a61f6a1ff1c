// Errors given to the caller are ioredis' ReplyError, as a Redis server's
// error reply would be, so code written for ioredis catches them unchanged.
import { ReplyError } from 'ioredis';

export function replyError(message: string): Error {
  return new (ReplyError as new (message: string) => Error)(message);
}
