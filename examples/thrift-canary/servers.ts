// Starts the Calculator servers of the thrift-canary example: each is a plain
// generated-processor server behind a meta-mesh inbound chain.
import type { Mesh } from 'meta-mesh';
import { createThriftServer, getCallMetadata, type ThriftServer } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { DivideByZero } from '../../gen/calculator/js/calculator_types';

/** What one server saw: calls per method, and the oneway events it recorded. */
export interface ServerLog {
  calls: Record<string, number>;
  events: string[];
}

export function newServerLog(): ServerLog {
  return { calls: {}, events: [] };
}

/** A Calculator handler that answers `version` with its name and logs every call. */
export function calculatorHandler(version: string, log: ServerLog = newServerLog()) {
  const seen = (method: string) => {
    log.calls[method] = (log.calls[method] ?? 0) + 1;
  };
  return {
    add: (a: number, b: number) => (seen('add'), a + b),
    subtract: (a: number, b: number) => (seen('subtract'), a - b),
    divide: async (a: number, b: number) => {
      seen('divide');
      if (b === 0) throw new DivideByZero({ message: `${a} / 0` });
      return Math.trunc(a / b);
    },
    echo: (text: string) => (seen('echo'), text),
    version: () => (seen('version'), version),
    sleep: (ms: number) => {
      seen('sleep');
      return new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms));
    },
    header: (key: string) => (seen('header'), getCallMetadata()?.get(key) ?? ''),
    record: (event: string) => {
      seen('record');
      log.events.push(event);
    },
  };
}

export async function startCalculatorServer(mesh: Mesh, version: string, port: number, log?: ServerLog): Promise<ThriftServer> {
  const server = createThriftServer(mesh, Calculator, calculatorHandler(version, log));
  await server.listen(port);
  return server;
}
