// Protocol-native replies meta-mesh writes itself: error responses for calls
// it cannot complete (no route, timeout, over limit...) and heartbeat replies.
import { MeshErrorCode, type MeshError } from '../../../lib/protocol';
import { DubboStatus, responseHeader } from './dubbo-frame';
import { hessianString } from './hessian-writer';

/**
 * The Dubbo status a client sees for a mesh error. `decoded` is false when
 * the request itself could not be decoded (a bad request, not a bad reply).
 */
export function dubboStatusFor(error: MeshError, decoded: boolean): number {
  switch (error.code) {
    case MeshErrorCode.NO_ROUTE:
      return DubboStatus.SERVICE_NOT_FOUND;
    case MeshErrorCode.CODEC:
      return decoded ? DubboStatus.BAD_RESPONSE : DubboStatus.BAD_REQUEST;
    case MeshErrorCode.TIMEOUT:
      return DubboStatus.SERVER_TIMEOUT;
    case MeshErrorCode.OVER_LIMIT:
    case MeshErrorCode.OVERFLOW:
    case MeshErrorCode.CIRCUIT_OPEN:
      return DubboStatus.SERVER_THREADPOOL_EXHAUSTED;
    default:
      return DubboStatus.SERVER_ERROR;
  }
}

/** The text of a mesh error as a Dubbo client reads it: `[meta-mesh CODE] message`. */
export function dubboErrorText(error: MeshError): string {
  return `[meta-mesh ${error.code}] ${error.message}`;
}

/** A response with a non-OK status whose body is a hessian2 string, as Java Dubbo writes them. */
export function dubboStatusReply(requestId: number | bigint, status: number, text: string): Buffer {
  const body = hessianString(text);
  return Buffer.concat([responseHeader(requestId, status, body.length), body]);
}

/** The reply to a heartbeat: an event response with a null body. */
export function dubboHeartbeatReply(requestId: number | bigint): Buffer {
  const header = responseHeader(requestId, DubboStatus.OK, 1, true);
  return Buffer.concat([header, NULL_BODY]);
}

const NULL_BODY = Buffer.from([0x4e]);
