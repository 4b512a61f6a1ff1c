// The one server every scenario calls: a plain thrift Calculator server
// (framed, binary; no meta-mesh) in its own process. Unlike the simple bench
// server it survives clients and proxies that reset their connections
// (killed workers, HAProxy health probes), which thrift reports as a server
// 'error' event that would otherwise end the process.
import * as thrift from 'thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';

const server = thrift.createServer(
  Calculator,
  {
    add: (a: number, b: number) => a + b,
    echo: (text: string) => text,
    version: () => 'perf',
  },
  { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol },
);
server.on('error', () => undefined);
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as import('node:net').AddressInfo;
  process.send?.({ port: address.port });
});
process.on('disconnect', () => process.exit(0));
