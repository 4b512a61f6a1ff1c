// meta-mesh/thrift: the Thrift adapter. A connection for thrift.createClient
// that routes every call through the mesh, a server that puts the mesh's
// inbound chain before a generated processor, and the Thrift codec.
// `thrift` is an optional peer dependency: the application installs it.
import { requirePeers } from '../../lib/optional-peer';
requirePeers('meta-mesh/thrift', ['thrift']);

export { createThriftConnection, ThriftConnection } from './thrift-connection';
export type { MeshThriftConnection, ThriftConnectionOptions } from './thrift-connection';
export { createThriftServer, getCallMetadata, ThriftServer } from './thrift-server';
export type { ThriftProcessor, ThriftServerOptions } from './thrift-server';
export * from './codec';
