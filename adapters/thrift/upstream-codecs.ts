// One codec factory per Thrift wire format sent upstream. The mesh shares an
// upstream socket only among calls of one factory, so a framed client and a
// THeader client calling the same endpoint never interleave formats on one
// connection (a Thrift server fixes a connection's format on its first message).
import type { CodecFactory } from '../../lib/protocol';
import { createThriftCodec } from './codec/thrift-codec';
import type { ThriftProtocol, ThriftTransport } from './codec/thrift-format';

const factories = new Map<string, CodecFactory>();

export function upstreamCodecFactory(transport: ThriftTransport, protocol: ThriftProtocol, maxFrameSize?: number): CodecFactory {
  const variant = `${transport}/${protocol}${maxFrameSize === undefined ? '' : `/${maxFrameSize}`}`;
  let factory = factories.get(variant);
  if (factory === undefined) {
    factory = { protocol: 'thrift', variant, create: () => createThriftCodec({ maxFrameSize }) };
    factories.set(variant, factory);
  }
  return factory;
}
