// Istio's source_principal label: this workload's SPIFFE id on outbound calls,
// the caller's verified one on inbound calls ("unknown" without mTLS), and
// connection_security_policy mutual_tls when the caller was verified.
import { strict as assert } from 'node:assert';
import type { Call } from 'meta-mesh';
import { IstioLabels, type IstioOutcome } from '../../lib/telemetry/istio-labels';

const OK: IstioOutcome = { ok: true, responseFlags: '-', peer: undefined };

function call(direction: 'inbound' | 'outbound', peer?: Call['peer']): Call {
  return {
    direction,
    service: { host: 'calc.shop.svc.cluster.local', port: 9090, portName: '', protocol: 'thrift', routeConfigName: 'calc.shop.svc.cluster.local_9090' },
    cluster: 'outbound|9090||calc.shop.svc.cluster.local',
    codec: { protocol: 'thrift' },
    ...(peer === undefined ? {} : { peer }),
  } as unknown as Call;
}

describe('source_principal in Istio labels', () => {
  it('is the workload identity outbound and the verified caller inbound', () => {
    const labels = new IstioLabels({ enabled: true, principal: 'spiffe://cluster.local/ns/front/sa/web' });
    assert.equal(labels.labels(call('outbound'), OK)['source_principal'], 'spiffe://cluster.local/ns/front/sa/web');
    const inbound = labels.labels(call('inbound', { address: '10.0.0.1', principal: 'cluster.local/ns/ops/sa/admin', namespace: 'ops' }), OK);
    assert.equal(inbound['source_principal'], 'spiffe://cluster.local/ns/ops/sa/admin');
    assert.equal(inbound['destination_principal'], 'spiffe://cluster.local/ns/front/sa/web');
    assert.equal(inbound['connection_security_policy'], 'mutual_tls');
    const plain = labels.labels(call('inbound', { address: '10.0.0.2' }), OK);
    assert.equal(plain['source_principal'], 'unknown');
    assert.equal(plain['connection_security_policy'], 'none');
  });
});
