// CDS transport_socket, encoded with the REAL Envoy protos as istiod writes it
// for proxyless workloads (certificate provider instances, SAN matchers), is
// read as ISTIO_MUTUAL with the expected SPIFFE ids; what meta-mesh cannot
// honour makes the cluster invalid instead of being dropped.
import { strict as assert } from 'node:assert';
import { clusterFromXds, checkClusterFromXds } from '../../lib/xds/cluster-from-xds';
import { TYPE_CDS } from '../../lib/xds/type-urls';
import { xdsProtos } from '../../lib/xds/xds-protos';
import { realEnvoy } from './real-envoy-protos';

const TLS_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

function istioContext(sanMatcher: object = { exact: 'spiffe://cluster.local/ns/shop/sa/calc' }) {
  return {
    sni: 'outbound_.9090_._.calc.shop.svc.cluster.local',
    common_tls_context: {
      tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
      combined_validation_context: {
        default_validation_context: {
          ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
          match_subject_alt_names: [sanMatcher],
        },
      },
    },
  };
}

function clusterWith(context: object) {
  const real = realEnvoy().codecs;
  const bytes = real.Cluster.encode({
    name: 'outbound|9090||calc.shop.svc.cluster.local',
    type: 'STATIC',
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { type_url: TLS_URL, value: real.UpstreamTlsContext.encode(context) } },
  });
  return xdsProtos().codecs[TYPE_CDS].decode(bytes);
}

describe('CDS transport_socket (UpstreamTlsContext) from istiod', () => {
  it('reads certificate provider instances and SAN matchers as ISTIO_MUTUAL with those SPIFFE ids', () => {
    const c = clusterWith(istioContext());
    checkClusterFromXds(c);
    assert.deepEqual(clusterFromXds(c, undefined).tls, {
      mode: 'ISTIO_MUTUAL',
      sni: 'outbound_.9090_._.calc.shop.svc.cluster.local',
      subjectAltNames: ['spiffe://cluster.local/ns/shop/sa/calc'],
    });
  });

  it('reads typed SAN matchers too, and a cluster without transport_socket stays plaintext', () => {
    const typed = istioContext();
    const validation = typed.common_tls_context.combined_validation_context.default_validation_context as Record<string, unknown>;
    delete validation.match_subject_alt_names;
    validation.match_typed_subject_alt_names = [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/shop/sa/calc' } }];
    assert.deepEqual(clusterFromXds(clusterWith(typed), undefined).tls?.subjectAltNames, ['spiffe://cluster.local/ns/shop/sa/calc']);
    const plain = xdsProtos().codecs[TYPE_CDS].decode(realEnvoy().codecs.Cluster.encode({ name: 'outbound|9090||calc.shop.svc.cluster.local', type: 'STATIC' }));
    assert.equal(clusterFromXds(plain, undefined).tls, undefined);
  });

  it('refuses (NACKs) what it cannot honour, naming it: prefix SANs, no client certificate, no CA, other sockets', () => {
    assert.throws(() => checkClusterFromXds(clusterWith(istioContext({ prefix: 'spiffe://cluster.local/' }))), /match_subject_alt_names uses a prefix matcher; meta-mesh checks SANs by exact match only/);
    const noCert = istioContext() as { common_tls_context: Record<string, unknown> };
    delete noCert.common_tls_context.tls_certificate_provider_instance;
    assert.throws(() => checkClusterFromXds(clusterWith(noCert)), /no tls_certificate_provider_instance/);
    const noCa = istioContext();
    delete (noCa.common_tls_context.combined_validation_context.default_validation_context as Record<string, unknown>).ca_certificate_provider_instance;
    assert.throws(() => checkClusterFromXds(clusterWith(noCa)), /names no root CA provider instance/);
    const other = xdsProtos().codecs[TYPE_CDS].decode(
      realEnvoy().codecs.Cluster.encode({
        name: 'outbound|9090||calc.shop.svc.cluster.local',
        transport_socket: { name: 'envoy.transport_sockets.alts', typed_config: { type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts', value: Buffer.alloc(0) } },
      }),
    );
    assert.throws(() => checkClusterFromXds(other), /transport_socket envoy\.transport_sockets\.alts .* is not supported/);
  });
});
