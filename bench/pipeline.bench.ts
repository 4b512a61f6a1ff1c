// Per-call cost of meta-mesh's own work on an outbound Thrift call, without
// sockets: decode the client's bytes, match the route, pick an endpoint, and
// encode the request with a new seqid and the route's mutation.
import * as thrift from 'thrift';
import { Metadata, parseConfig, type Message } from 'meta-mesh';
import { RouteTable } from 'meta-mesh/experimental';
import { createThriftCodec } from 'meta-mesh/thrift';
import { RoundRobin } from '../lib/cluster/lb/round-robin';
import * as Calculator from '../gen/calculator/js/Calculator';

function captureAdd(): Buffer {
  let captured: Buffer | undefined;
  const conn = { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol, write: (buf: Buffer) => (captured = buf) };
  const client = thrift.createClient(Calculator, conn as unknown as thrift.Connection);
  client.add(2, 3).catch(() => undefined);
  return captured!;
}

const config = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: calc}
spec:
  hosts: [calc.svc]
  ports: [{number: 9090, name: tcp-metaprotocol-thrift}]
  resolution: STATIC
  endpoints:
    - {address: 10.0.0.1, labels: {version: v1}}
    - {address: 10.0.0.2, labels: {version: v2}}
    - {address: 10.0.0.3, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: calc}
spec:
  host: calc.svc
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: calc}
spec:
  hosts: [calc.svc]
  routes:
    - name: sub
      match: {attributes: {method: {exact: subtract}}}
      route: [{destination: {host: calc.svc, subset: v1}}]
    - name: add
      match: {attributes: {method: {exact: add}}}
      route:
        - {destination: {host: calc.svc, subset: v1}, weight: 80}
        - {destination: {host: calc.svc, subset: v2}, weight: 20}
      requestMutation: [{key: x-canary, value: "yes"}]
`;

export function runPipelineBench(iterations = 1_000_000): { nsPerCall: number } {
  const snapshot = parseConfig([{ file: 'bench.yaml', text: config }]);
  const table = RouteTable.compile(snapshot.routeConfigs.get('calc.svc_9090')!);
  const endpoints = snapshot.clusters.get('outbound|9090|v2|calc.svc')!.endpoints;
  const lb = new RoundRobin(endpoints);
  const bytes = captureAdd();
  const codec = createThriftCodec({ format: { transport: 'framed', protocol: 'binary' } });
  let sink = 0;
  const once = (seqid: number) => {
    const decoded = codec.decode(bytes, 'request');
    if (decoded.status !== 'done') throw new Error('bad bench input');
    const message: Message = decoded.message;
    const md: Metadata = message.metadata;
    const route = table.match(md)!;
    route.pickCluster(Math.random());
    const i = lb.pick();
    const out = codec.encode(message, { requestId: seqid, mutation: route.requestMutation as Map<string, string> | undefined });
    sink += out.length + i;
  };
  for (let i = 0; i < 200_000; i++) once(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) once(i & 0x7fffffff);
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  if (sink === 0) console.log('');
  return { nsPerCall: Number(ns.toFixed(0)) };
}

if (require.main === module) console.log(runPipelineBench());
