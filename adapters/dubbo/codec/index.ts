// The dubbo2 codec (hessian2 serialization): framing, routable metadata,
// request id rewrite, attachment mutations and Dubbo-native error replies.
export { createDubboCodec, DubboCodec, dubboCodecFactory } from './dubbo-codec';
export type { DubboCodecOptions } from './dubbo-codec';
export { DubboFrameState } from './dubbo-frame-state';
export { DubboStatus, ResultFlag, DEFAULT_MAX_BODY_SIZE } from './dubbo-frame';
export { dubboStatusFor, dubboErrorText, dubboStatusReply, dubboHeartbeatReply } from './dubbo-error-reply';
