// A plain thrift Calculator server (no meta-mesh) over mutual TLS, in its own
// process for the mTLS benchmark: framed binary, client certificate required.
// usage: raw-thrift-tls-server.js <cert.pem> <key.pem> <ca.pem>
import * as fs from 'node:fs';
import * as thrift from 'thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { answerStats } from './server-stats';

const [cert, key, ca] = process.argv.slice(2).map((f) => fs.readFileSync(f));
const server = thrift.createServer(
  Calculator,
  { add: (a: number, b: number) => a + b, echo: (text: string) => text, version: () => 'raw-tls' },
  { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol, tls: { cert, key, ca, requestCert: true, rejectUnauthorized: true } },
);
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as import('node:net').AddressInfo;
  process.send?.({ port: address.port });
});
// Handshakes completed, and how many resumed a session (no certificate exchange).
let handshakes = 0;
let resumed = 0;
server.on('secureConnection', (socket: import('node:tls').TLSSocket) => {
  handshakes++;
  if (socket.isSessionReused()) resumed++;
});
answerStats(() => ({ handshakes, resumed }));
process.on('disconnect', () => process.exit(0));
