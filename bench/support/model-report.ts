// How a meta-mesh connection model compares with raw thrift clients, stated so
// that no ratio can be read against the wrong baseline: every model is
// compared with the raw client on ONE connection (the fastest raw setup
// against a server that answers pipelined calls) and with the raw client
// operated in the SAME connection model (one connection carrying every call
// for multiplexed; a pool with one call in flight per connection for
// non-multiplexed), with the client's and the server's CPU per call of each.
export interface ScenarioFigures {
  readonly callsPerSecond: number;
  readonly cpuUsPerCall: number;
  readonly serverCpuUsPerCall?: number;
}

export interface ModelComparison {
  /** meta-mesh calls/s over the raw client's on one connection. */
  readonly throughputToRawSingleConnection: number;
  /** meta-mesh calls/s over the raw client's working in the same connection model. */
  readonly throughputToRawSameModel: number;
  /** Which raw scenario `…ToRawSameModel` compares with. */
  readonly rawSameModel: string;
  readonly clientCpuUsPerCall: { readonly metaMesh: number; readonly rawSingleConnection: number; readonly rawSameModel: number };
  readonly serverCpuUsPerCall?: { readonly metaMesh: number; readonly rawSingleConnection: number; readonly rawSameModel: number };
  /** The same in one sentence. */
  readonly summary: string;
}

const r3 = (a: number, b: number): number => Number((a / b).toFixed(3));
const us = (n: number): string => `${n.toFixed(1)} µs`;

export function compareModel(
  model: string,
  metaMesh: ScenarioFigures,
  rawSingle: ScenarioFigures,
  rawSame: ScenarioFigures,
  rawSameModel: string,
): ModelComparison {
  const toSingle = r3(metaMesh.callsPerSecond, rawSingle.callsPerSecond);
  const toSame = r3(metaMesh.callsPerSecond, rawSame.callsPerSecond);
  const server =
    metaMesh.serverCpuUsPerCall !== undefined && rawSingle.serverCpuUsPerCall !== undefined && rawSame.serverCpuUsPerCall !== undefined
      ? { metaMesh: metaMesh.serverCpuUsPerCall, rawSingleConnection: rawSingle.serverCpuUsPerCall, rawSameModel: rawSame.serverCpuUsPerCall }
      : undefined;
  const same = rawSame === rawSingle;
  const cpuText = (mesh: number, single: number, other: number): string =>
    same ? `${us(mesh)} (raw ${us(single)})` : `${us(mesh)} (raw single ${us(single)}, ${rawSameModel} ${us(other)})`;
  const serverText = server === undefined ? '' : `; server CPU/call ${cpuText(server.metaMesh, server.rawSingleConnection, server.rawSameModel)}`;
  const ratios = same
    ? `${toSingle}x raw single connection (the raw client's own model)`
    : `${toSingle}x raw single connection, ${toSame}x ${rawSameModel} (raw client in the same model)`;
  return {
    throughputToRawSingleConnection: toSingle,
    throughputToRawSameModel: toSame,
    rawSameModel,
    clientCpuUsPerCall: { metaMesh: metaMesh.cpuUsPerCall, rawSingleConnection: rawSingle.cpuUsPerCall, rawSameModel: rawSame.cpuUsPerCall },
    ...(server === undefined ? {} : { serverCpuUsPerCall: server }),
    summary: `${model}: ${ratios}; client CPU/call ${cpuText(metaMesh.cpuUsPerCall, rawSingle.cpuUsPerCall, rawSame.cpuUsPerCall)}${serverText}`,
  };
}
