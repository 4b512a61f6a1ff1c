// readClientStatus: one CSDS FetchClientStatus call to a process's admin
// port (meta-mesh's, or any xDS client that serves CSDS), with the xDS
// resources it returns decoded for reading. `meta-mesh dump --admin` uses it.
import * as grpc from '@grpc/grpc-js';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { AnyResource } from './envoy-types';
import { csdsProtos } from './csds-protos';
import { TYPE_CDS, TYPE_EDS, TYPE_RDS } from './type-urls';
import { xdsProtos } from './xds-protos';

export interface ReadClientStatusOptions {
  /** Give up after this many ms (default 5000). */
  readonly timeoutMs?: number | undefined;
  /** Ask for versions and states only, without the resources. */
  readonly excludeResourceContents?: boolean | undefined;
}

type Unary = (request: object, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, response: unknown) => void) => void;

export async function readClientStatus(address: string, options: ReadClientStatusOptions = {}): Promise<Record<string, unknown>> {
  const { Client } = csdsProtos();
  const client = new Client(address, grpc.credentials.createInsecure());
  try {
    const response = await new Promise<unknown>((resolve, reject) => {
      const fetch = (client as unknown as { FetchClientStatus: Unary }).FetchClientStatus.bind(client);
      fetch({ exclude_resource_contents: options.excludeResourceContents === true }, { deadline: Date.now() + (options.timeoutMs ?? 5000) }, (err, res) =>
        err === null ? resolve(res) : reject(new MeshError(MeshErrorCode.CONNECT_FAILURE, `CSDS at ${address}: ${err.details || err.message}`, { cause: err })),
      );
    });
    return decodeResources(response) as Record<string, unknown>;
  } finally {
    client.close();
  }
}

/** Replaces each xds_config Any of a known type with its decoded resource under "@type", as protobuf JSON shows an Any. */
function decodeResources(response: unknown): unknown {
  const codecs = xdsProtos().codecs;
  const known: Record<string, { decode(b: Buffer): unknown }> = { [TYPE_RDS]: codecs[TYPE_RDS], [TYPE_CDS]: codecs[TYPE_CDS], [TYPE_EDS]: codecs[TYPE_EDS] };
  const r = response as { config?: { generic_xds_configs?: { xds_config?: AnyResource | Record<string, unknown> }[] }[] };
  for (const c of r.config ?? []) {
    for (const g of c.generic_xds_configs ?? []) {
      const any = g.xds_config as AnyResource | undefined;
      if (any?.type_url === undefined || !Buffer.isBuffer(any.value)) continue;
      const codec = known[any.type_url];
      g.xds_config = codec === undefined ? { '@type': any.type_url } : { '@type': any.type_url, ...(codec.decode(any.value) as object) };
    }
  }
  return response;
}
