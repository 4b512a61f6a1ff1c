import { strict as assert } from 'node:assert';
import { parseConfig, type Message } from 'meta-mesh';
import { RouteTable } from 'meta-mesh/experimental';
import { createThriftCodec } from 'meta-mesh/thrift';
import { pythonHeaderRequest } from './support/python-thrift';

const yaml = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: calc}
spec:
  hosts: [calc.svc]
  ports: [{number: 9090, name: tcp-metaprotocol-thrift}]
  resolution: STATIC
  endpoints:
    - {address: 10.0.0.1, labels: {tier: gold}}
    - {address: 10.0.0.2, labels: {tier: basic}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: calc}
spec:
  host: calc.svc
  subsets: [{name: gold, labels: {tier: gold}}, {name: basic, labels: {tier: basic}}]
---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: calc}
spec:
  hosts: [calc.svc]
  routes:
    - name: gold-tenants
      match: {attributes: {x-tenant: {exact: gold}, method: {exact: add}}}
      route: [{destination: {host: calc.svc, subset: gold}}]
    - name: everyone-else
      route: [{destination: {host: calc.svc, subset: basic}}]
`;

describe('routing on THeader keys', () => {
  const table = RouteTable.compile(parseConfig([{ file: 'calc.yaml', text: yaml }]).routeConfigs.get('calc.svc_9090')!);
  const route = (bytes: Buffer) => {
    const decoded = createThriftCodec().decode(bytes, 'request');
    assert.equal(decoded.status, 'done');
    return table.match((decoded as { message: Message }).message.metadata)!.name;
  };

  it('routes a THeader call written by Python thrift by its header and method', () => {
    for (const protocol of ['binary', 'compact'] as const) {
      assert.equal(route(pythonHeaderRequest({ method: 'add', args: [1, 2], protocol, headers: { 'X-Tenant': 'gold' } })), 'gold-tenants');
      assert.equal(route(pythonHeaderRequest({ method: 'add', args: [1, 2], protocol, headers: { 'x-tenant': 'basic' } })), 'everyone-else');
      assert.equal(route(pythonHeaderRequest({ method: 'echo', args: ['x'], protocol, headers: { 'x-tenant': 'gold' } })), 'everyone-else');
      assert.equal(route(pythonHeaderRequest({ method: 'add', args: [1, 2], protocol })), 'everyone-else');
    }
  });
});
