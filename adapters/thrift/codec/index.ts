// The Thrift codec's public surface.
export { ThriftCodec, createThriftCodec, thriftCodecFactory, type ThriftCodecOptions } from './thrift-codec';
export type { ThriftEncodeOptions } from './thrift-encode';
export { ThriftFrameState } from './frame-state';
export type { THeaderInfo } from './theader';
export { thriftPayload } from './thrift-payload';
export { ApplicationExceptionType } from './thrift-error-reply';
export { thriftFormat, type ThriftFormat, type ThriftProtocol, type ThriftTransport } from './thrift-format';
