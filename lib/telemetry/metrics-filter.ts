// The metrics filter: rpc.client.call.duration / rpc.server.call.duration per
// call, meta_mesh.local_replies for every call meta-mesh answered itself, and
// optionally Istio's istio_requests_total and istio_request_duration_milliseconds.
// Instruments are taken lazily from the global MeterProvider (see MeterInstruments).
import type { Attributes } from '@opentelemetry/api';
import type { Call, Filter, Reply } from '../filters/call';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { IstioLabels } from './istio-labels';
import { peerOf } from './metadata-exchange-filter';
import { responseFlagsOf } from './response-flags';
import { sharedInstruments, type InstrumentSet, type MeterInstruments } from './meter-instruments';
import { errorTypeOf, rpcMethod, statusCodeOf, systemNameResolver } from './rpc-attributes';
import type { MetricsOptions } from './telemetry-options';
import { settleThrow } from './settle-throw';

export function createMetricsFilter(options: MetricsOptions = {}, instruments: MeterInstruments = sharedInstruments): Filter {
  const now = options.now ?? (() => performance.now());
  const systemName = systemNameResolver(options.systemNames);
  const istio = options.istio?.enabled === true ? new IstioLabels(options.istio) : undefined;

  const record = (set: InstrumentSet, call: Call, reply: Reply | undefined, error: unknown): void => {
    const ms = now() - call.startTime;
    const outbound = call.direction === 'outbound';
    const system = systemName(call.codec.protocol);
    const attributes: Attributes = {
      'rpc.system.name': system,
      'rpc.method': rpcMethod(call),
      'rpc.status_code': statusCodeOf(reply, error),
    };
    if (outbound) {
      attributes['server.address'] = call.service.host;
      attributes['server.port'] = call.service.port;
    } else if (call.service.port > 0) {
      attributes['server.port'] = call.service.port;
    }
    const errorType = errorTypeOf(reply, error);
    if (errorType !== undefined) attributes['error.type'] = errorType;
    (outbound ? set.clientDuration : set.serverDuration).record(ms / 1000, attributes);
    // Sizes the codec framed: the whole request, and the reply when there was one (a local reply's bytes are not known here).
    const requestBytes = call.request.frame.length;
    const responseBytes = reply?.message.frame.length ?? 0;
    const sizes = outbound ? set.sizes.client : set.sizes.server;
    sizes[0].record(requestBytes, attributes);
    if (reply !== undefined) sizes[1].record(responseBytes, attributes);

    if (error instanceof MeshError) {
      const local: Attributes = { 'meta_mesh.reason': error.code, 'meta_mesh.direction': call.direction, 'rpc.system.name': system };
      if (outbound) local['server.address'] = call.service.host;
      set.localReplies.add(1, local);
    }
    if (istio !== undefined) {
      const labels = istio.labels(call, {
        ok: errorType === undefined,
        responseFlags: responseFlagsOf(error instanceof MeshError ? error.code : error === undefined ? undefined : MeshErrorCode.INTERNAL),
        peer: peerOf(call),
      });
      const instruments = set.istioInstruments();
      instruments.requests.add(1, labels);
      instruments.duration.record(ms, labels);
      instruments.requestBytes.record(requestBytes, labels);
      instruments.responseBytes.record(responseBytes, labels);
    }
  };

  return (next) => (call) => {
    const set = instruments.current();
    if (set === undefined) return next(call);
    return settleThrow(next, call).then(
      (reply) => {
        record(set, call, reply, undefined);
        return reply;
      },
      (err: unknown) => {
        record(set, call, undefined, err);
        throw err;
      },
    );
  };
}
