// LDS Listener: asked for only when the node presents itself as a sidecar
// (nodeId 'istio'), because istiod then sends the listeners Aeraki's
// EnvoyFilters patched. Of each listener only its MetaProtocolProxy filters
// are read (meta-protocol-proxy-config.ts): one per outbound `<host>_<port>`,
// carrying that route config's rate limits, tracing sampling and access log.
// A filter config that cannot be read NACKs the response and changes nothing.
import { MeshError } from '../protocol';
import { decodeAs } from './lds-protos';
import { type ListenerServiceConfig, isMetaProtocolProxy, metaProtocolProxyConfig } from './meta-protocol-proxy-config';
import { TYPE_LDS } from './type-urls';
import type { XdsResourceType } from './xds-resource-type';

/** A Listener as decoded from our .proto subset. */
export interface ListenerProto {
  name?: string;
  filter_chains?: { name?: string; filters?: { name?: string; typed_config?: { type_url?: string; value?: Uint8Array } }[] }[];
}

/** The MetaProtocolProxy settings one listener carries, one per route config it names. */
export type ListenerSettings = readonly ListenerServiceConfig[];

export const ldsResourceType: XdsResourceType<ListenerProto, ListenerSettings> = {
  typeUrl: TYPE_LDS,
  short: 'LDS',
  allResourcesRequiredInSotW: true,
  decode: (bytes) => {
    const raw = decodeAs<ListenerProto>(TYPE_LDS, bytes);
    return { name: raw.name ?? '', raw };
  },
  validate: (decoded) => {
    const raw = decoded.raw as ListenerProto;
    return { raw, value: settingsOf(raw) };
  },
  decodeRaw: (bytes) => decodeAs<ListenerProto>(TYPE_LDS, bytes),
  nameOfRaw: (raw) => raw.name,
  fromRaw: (raw) => settingsOf(raw),
};

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
