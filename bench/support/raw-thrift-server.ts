// A plain thrift Calculator server (no meta-mesh), run in its own process by the
// benchmarks so client and server do not share an event loop.
import * as thrift from 'thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { answerStats } from './server-stats';

const transport = process.argv[2] === 'buffered' ? thrift.TBufferedTransport : thrift.TFramedTransport;
const server = thrift.createServer(
  Calculator,
  {
    add: (a: number, b: number) => a + b,
    echo: (text: string) => text,
    version: () => 'raw',
  },
  { transport, protocol: thrift.TBinaryProtocol },
);
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as import('node:net').AddressInfo;
  process.send?.({ port: address.port });
});
answerStats();
process.on('disconnect', () => process.exit(0));
