// LDS Listener: asked for only when the node presents itself as a sidecar
// (nodeId 'istio'), because istiod then sends the listeners Aeraki's
// EnvoyFilters patched. Of each listener only its MetaProtocolProxy filters
// are read (meta-protocol-proxy-config.ts): one per outbound `<host>_<port>`,
// carrying that route config's rate limits, tracing sampling and access log.
// A filter config that cannot be read NACKs the response and changes nothing.
// A proxyless server's inbound listener (gRPC A36, named by the bootstrap's
// server_listener_resource_name_template) is read instead for its mTLS mode
// and RBAC (inbound-listener-xds.ts).
import type { InboundListenerModel } from '../config/security-model';
import { MeshError } from '../protocol';
import { ISTIO_INBOUND_LISTENER_PREFIX, inboundListenerFromXds } from './inbound-listener-xds';
import { decodeAs } from './lds-protos';
import { type ListenerServiceConfig, isMetaProtocolProxy, metaProtocolProxyConfig } from './meta-protocol-proxy-config';
import { TYPE_LDS } from './type-urls';
import type { XdsResourceType } from './xds-resource-type';

type AnyProto = { type_url?: string; value?: Uint8Array };
type CidrProto = { address_prefix?: string; prefix_len?: { value?: number } };

export interface FilterChainProto {
  name?: string;
  filter_chain_match?: {
    prefix_ranges?: CidrProto[];
    address_suffix?: string;
    suffix_len?: { value?: number };
    source_prefix_ranges?: CidrProto[];
    source_ports?: number[];
    destination_port?: { value?: number };
    transport_protocol?: string;
    application_protocols?: string[];
    server_names?: string[];
    source_type?: string;
    direct_source_prefix_ranges?: CidrProto[];
  };
  filters?: { name?: string; typed_config?: AnyProto }[];
  transport_socket?: { name?: string; typed_config?: AnyProto };
}

/** A Listener as decoded from our .proto subset. */
export interface ListenerProto {
  name?: string;
  filter_chains?: FilterChainProto[];
  use_original_dst?: { value?: boolean };
  listener_filters?: { name?: string }[];
  default_filter_chain?: FilterChainProto;
}

/** The MetaProtocolProxy settings one listener carries, one per route config it names. */
export type ListenerSettings = readonly ListenerServiceConfig[];

/** What one listener is to the mesh: MetaProtocolProxy settings (a sidecar's listeners), or a server's inbound listener. */
export interface ListenerValue {
  readonly services: ListenerSettings;
  readonly inbound?: InboundListenerModel;
}

/** The LDS handler; `isInbound` says which listener names are a server's inbound listeners (gRPC A36). */
export function createLdsResourceType(isInbound: (name: string) => boolean): XdsResourceType<ListenerProto, ListenerValue> {
  const valueOf = (raw: ListenerProto): ListenerValue =>
    isInbound(raw.name ?? '') ? Object.freeze({ services: NO_SERVICES, inbound: inboundListenerFromXds(raw) }) : Object.freeze({ services: settingsOf(raw) });
  return {
    typeUrl: TYPE_LDS,
    short: 'LDS',
    allResourcesRequiredInSotW: true,
    decode: (bytes) => {
      const raw = decodeAs<ListenerProto>(TYPE_LDS, bytes);
      return { name: raw.name ?? '', raw };
    },
    validate: (decoded) => {
      const raw = decoded.raw as ListenerProto;
      return { raw, value: valueOf(raw) };
    },
    decodeRaw: (bytes) => decodeAs<ListenerProto>(TYPE_LDS, bytes),
    nameOfRaw: (raw) => raw.name,
    fromRaw: (raw) => valueOf(raw),
  };
}

const NO_SERVICES: ListenerSettings = Object.freeze([]);

/** LDS with Istio's inbound listener names (`xds.istio.io/grpc/lds/inbound/...`) read as inbound listeners. */
export const ldsResourceType = createLdsResourceType((name) => name.startsWith(ISTIO_INBOUND_LISTENER_PREFIX));

function settingsOf(listener: ListenerProto): ListenerSettings {
  const name = listener.name ?? '';
  const out: ListenerServiceConfig[] = [];
  (listener.filter_chains ?? []).forEach((chain, c) => {
    (chain.filters ?? []).forEach((filter, f) => {
      const where = `listener '${name}' filter_chains[${c}].filters[${f}]`;
      let found: ListenerServiceConfig | undefined;
      try {
        if (!isMetaProtocolProxy(filter.typed_config)) return;
        found = metaProtocolProxyConfig(filter.typed_config!, where);
      } catch (err) {
        if (err instanceof MeshError) throw err;
        throw new Error(`${where}: the MetaProtocolProxy config could not be decoded: ${(err as Error).message}`);
      }
      if (found !== undefined) out.push(found);
    });
  });
  return Object.freeze(out);
}
