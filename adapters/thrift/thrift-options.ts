// Maps the transport and protocol a user names (as strings, or as the thrift
// library's own classes, the way thrift.createConnection takes them) to the
// codec's format names and the thrift classes a generated client needs.
import * as thrift from 'thrift';
import { MeshError, MeshErrorCode } from '../../lib/protocol/mesh-error';
import type { ThriftProtocol, ThriftTransport } from './codec/thrift-format';

export type TransportOption = 'buffered' | 'unframed' | 'framed' | typeof thrift.TBufferedTransport | typeof thrift.TFramedTransport;
export type ProtocolOption = 'binary' | 'compact' | typeof thrift.TBinaryProtocol | typeof thrift.TCompactProtocol;

export interface ResolvedFormat {
  readonly transport: Exclude<ThriftTransport, 'header'>;
  readonly protocol: ThriftProtocol;
  readonly transportClass: typeof thrift.TBufferedTransport | typeof thrift.TFramedTransport;
  readonly protocolClass: typeof thrift.TBinaryProtocol | typeof thrift.TCompactProtocol;
}

export function resolveTransport(option: TransportOption | undefined): ResolvedFormat['transport'] {
  if (option === undefined || option === 'buffered' || option === 'unframed' || option === thrift.TBufferedTransport) return 'unframed';
  if (option === 'framed' || option === thrift.TFramedTransport) return 'framed';
  throw new MeshError(
    MeshErrorCode.CONFIG,
    `unsupported thrift transport ${describe(option)}; use 'buffered', 'framed', thrift.TBufferedTransport or thrift.TFramedTransport (for THeader set upstreamTransport: 'header')`,
  );
}

export function resolveProtocol(option: ProtocolOption | undefined): ThriftProtocol {
  if (option === undefined || option === 'binary' || option === thrift.TBinaryProtocol) return 'binary';
  if (option === 'compact' || option === thrift.TCompactProtocol) return 'compact';
  throw new MeshError(
    MeshErrorCode.CONFIG,
    `unsupported thrift protocol ${describe(option)}; use 'binary', 'compact', thrift.TBinaryProtocol or thrift.TCompactProtocol`,
  );
}

export function resolveFormat(transport: TransportOption | undefined, protocol: ProtocolOption | undefined): ResolvedFormat {
  const t = resolveTransport(transport);
  const p = resolveProtocol(protocol);
  return {
    transport: t,
    protocol: p,
    transportClass: t === 'framed' ? thrift.TFramedTransport : thrift.TBufferedTransport,
    protocolClass: protocolClass(p),
  };
}

export function protocolClass(protocol: ThriftProtocol): typeof thrift.TBinaryProtocol | typeof thrift.TCompactProtocol {
  return protocol === 'compact' ? thrift.TCompactProtocol : thrift.TBinaryProtocol;
}

function describe(option: unknown): string {
  if (typeof option === 'function') return option.name || 'an anonymous class';
  return JSON.stringify(option);
}
