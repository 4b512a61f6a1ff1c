// The fields of Aeraki's Redis CRDs (redis.aeraki.io/v1alpha1 RedisService and
// RedisDestination), as aeraki-mesh/api redis/v1alpha1 declares them. A field
// missing here is reported as unknown, so this list follows upstream.

import { Schema } from './schema';

type Fields = Record<string, Schema>;

const str = (nonEmpty = false): Schema => ({ type: 'string', ...(nonEmpty ? { nonEmpty } : {}) });
const oneOfStr = (values: readonly string[]): Schema => ({ type: 'string', enum: values });
const int = (min?: number, max?: number): Schema => ({ type: 'integer', ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) });
const bool = (): Schema => ({ type: 'boolean' });
const dur = (): Schema => ({ type: 'duration' });
const obj = (fields: Fields, oneOf?: readonly (readonly string[])[]): Schema => ({ type: 'object', fields, ...(oneOf ? { oneOf } : {}) });
const arr = (items: Schema): Schema => ({ type: 'array', items });
const req = (s: Schema): Schema => ({ ...s, required: true });
const later = (s: Schema, note: string): Schema => ({ ...s, notEnforced: note });

const UINT32 = 4_294_967_295;

/** Auth: plain credentials or a mounted Kubernetes secret (oneof auth). */
const auth = obj(
  {
    plain: obj({ password: req(str()), username: str() }),
    secret: obj({ name: req(str(true)), passwordField: str(), usernameField: str() }),
  },
  [['plain', 'secret']],
);

const percent = obj({ value: { type: 'number', min: 0, max: 100 } });
const destination = obj({ host: req(str(true)), port: int(0, 65535) });

export const READ_POLICIES = ['MASTER', 'PREFER_MASTER', 'REPLICA', 'PREFER_REPLICA', 'ANY'] as const;

export const redisServiceSpecSchema: Schema = obj({
  host: req(arr(str(true))),
  settings: obj({
    caseInsensitive: bool(),
    opTimeout: dur(),
    enableCommandStats: bool(),
    maxBufferSizeBeforeFlush: int(0, UINT32),
    bufferFlushTimeout: dur(),
    maxUpstreamUnknownConnections: int(0, UINT32),
    enableHashtagging: bool(),
    enableRedirection: bool(),
    readPolicy: oneOfStr(READ_POLICIES),
    auth,
  }),
  redis: req(
    arr(
      obj({
        match: obj({ key: obj({ prefix: str(), removePrefix: bool() }) }),
        route: req(destination),
        mirror: arr(obj({ route: req(destination), percentage: percent, excludeReadCommands: bool() })),
      }),
    ),
  ),
  faults: arr(
    obj({
      type: oneOfStr(['DELAY', 'ERROR']),
      percentage: percent,
      delay: dur(),
      commands: arr(str(true)),
    }),
  ),
});

const tcpKeepalive = obj({ probes: int(0), time: dur(), interval: dur() });

export const redisDestinationSpecSchema: Schema = obj({
  host: req(str(true)),
  trafficPolicy: obj({
    connectionPool: obj({
      tcp: obj({
        maxConnections: int(0),
        connectTimeout: dur(),
        tcpKeepalive: later(tcpKeepalive, 'ioredis keeps its own keepalive'),
        maxConnectionDuration: later(dur(), 'Redis connections are long-lived'),
        idleTimeout: later(dur(), 'Redis connections are long-lived'),
      }),
      redis: obj({
        mode: oneOfStr(['PROXY', 'CLUSTER']),
        auth,
        discoveryEndpoints: arr(str(true)),
      }),
    }),
  }),
});
