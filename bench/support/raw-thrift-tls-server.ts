// A plain thrift Calculator server (no meta-mesh) over mutual TLS, in its own
// process for the mTLS benchmark: framed binary, client certificate required.
// usage: raw-thrift-tls-server.js <cert.pem> <key.pem> <ca.pem>
import * as fs from 'node:fs';
import * as thrift from 'thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';

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
process.on('disconnect', () => process.exit(0));
