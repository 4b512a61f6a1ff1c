// Schemas of the security CRDs meta-mesh reads: Istio PeerAuthentication and
// AuthorizationPolicy (security.istio.io) and Aeraki DubboAuthorizationPolicy
// (dubbo.aeraki.io). A field meta-mesh cannot enforce is never merely warned
// about: it is a problem naming the field (security-policies.ts), because an
// ignored security field makes traffic less safe than the manifest says.

import { Schema } from './schema';

const str = (): Schema => ({ type: 'string' });
const nonEmpty = (): Schema => ({ type: 'string', nonEmpty: true });
const strings = (): Schema => ({ type: 'array', items: nonEmpty() });
const obj = (fields: Record<string, Schema>): Schema => ({ type: 'object', fields });
const labels = (): Schema => ({ type: 'map', values: str() });
const mode = (values: readonly string[]): Schema => ({ type: 'string', enum: values });

const selector = obj({ matchLabels: labels() });
const targetRef = obj({ group: str(), kind: str(), name: str(), namespace: str() });

const MTLS_MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];

export const peerAuthenticationSpecSchema: Schema = obj({
  selector,
  mtls: obj({ mode: mode(MTLS_MODES) }),
  portLevelMtls: { type: 'map', values: obj({ mode: mode(MTLS_MODES) }) },
});

const portList = (): Schema => ({ type: 'array', items: { type: 'integerOrString' } });

export const authorizationPolicySpecSchema: Schema = obj({
  selector,
  targetRef,
  targetRefs: { type: 'array', items: targetRef },
  action: mode(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']),
  provider: obj({ name: str() }),
  rules: {
    type: 'array',
    items: obj({
      from: {
        type: 'array',
        items: obj({
          source: obj({
            principals: strings(),
            notPrincipals: strings(),
            requestPrincipals: strings(),
            notRequestPrincipals: strings(),
            namespaces: strings(),
            notNamespaces: strings(),
            serviceAccounts: strings(),
            notServiceAccounts: strings(),
            ipBlocks: strings(),
            notIpBlocks: strings(),
            remoteIpBlocks: strings(),
            notRemoteIpBlocks: strings(),
          }),
        }),
      },
      to: {
        type: 'array',
        items: obj({
          operation: obj({
            hosts: strings(),
            notHosts: strings(),
            ports: portList(),
            notPorts: portList(),
            methods: strings(),
            notMethods: strings(),
            paths: strings(),
            notPaths: strings(),
          }),
        }),
      },
      when: { type: 'array', items: obj({ key: { ...nonEmpty(), required: true }, values: { type: 'array', items: str() }, notValues: { type: 'array', items: str() } }) },
    }),
  },
});

export const dubboAuthorizationPolicySpecSchema: Schema = obj({
  action: mode(['ALLOW', 'DENY']),
  rules: {
    type: 'array',
    items: obj({
      from: { type: 'array', items: obj({ source: obj({ principals: strings(), notPrincipals: strings(), namespaces: strings(), notNamespaces: strings() }) }) },
      to: {
        type: 'array',
        items: obj({ operation: obj({ interfaces: strings(), notInterfaces: strings(), methods: strings(), notMethods: strings() }) }),
      },
    }),
  },
});
