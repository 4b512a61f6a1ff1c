// Typed handles on the parts of apache-dubbo-js the client wrapper drives: its
// own request encoder and response decoder (so the bytes and the results are
// exactly what dubbo-js would send and surface), its error classes and its
// process-wide default timeout. The package has no typings for these files.

/** The fields of a dubbo-js Context the wrapper reads and writes. */
export interface DubboJsContext {
  readonly request: {
    requestId: number;
    methodName: string;
    methodArgs: unknown[];
    dubboInterface: string;
    version?: string;
    group?: string;
    timeout?: number;
    dubboVersion?: string;
    path?: string;
  };
  readonly isMethodArgsHessianType: boolean;
  readonly uuid: string;
  timeout?: number;
  body: { err: Error | null; res: unknown };
  providerAttachments: Record<string, unknown>;
  invokeHost: string;
  invokePort: number;
}

export type DubboJsMiddleware = (ctx: DubboJsContext, next: () => Promise<void>) => Promise<void>;

interface DubboJsDecoded {
  err: Error | null;
  res: unknown;
  attachments: Record<string, unknown>;
}

type ErrorClass = new (message: string) => Error;

/* eslint-disable @typescript-eslint/no-require-imports */
const encodeModule = require('apache-dubbo-js/es7/encode') as { default: new (ctx: DubboJsContext) => { encode(): Buffer } };
const decodeModule = require('apache-dubbo-js/es7/decode') as { decode(bytes: Buffer): DubboJsDecoded };
const errModule = require('apache-dubbo-js/es7/err') as Record<'DubboDecodeError' | 'DubboEncodeError' | 'DubboTimeoutError' | 'DubboMethodParamHessianTypeError', ErrorClass>;
const configModule = require('apache-dubbo-js/es7/config') as { default: { dubboInvokeTimeout: number } };
/* eslint-enable @typescript-eslint/no-require-imports */

export const dubboJs = {
  /** dubbo-js's request encoder: header + hessian2 body, attachments merged as dubbo-js does. */
  encodeRequest(ctx: DubboJsContext): Buffer {
    return new encodeModule.default(ctx).encode();
  },
  /** dubbo-js's response decoder: `{err, res, attachments}` as its socket layer would hand them on. */
  decodeResponse(frame: Buffer): DubboJsDecoded {
    return decodeModule.decode(frame);
  },
  errors: errModule,
  /** dubbo-js's default call timeout in seconds (process-wide: the last `new Dubbo` sets it). */
  get defaultTimeoutSeconds(): number {
    return configModule.default.dubboInvokeTimeout;
  },
};
