// The fields of the upstream CRDs meta-mesh reads (Istio ServiceEntry and
// DestinationRule, Aeraki MetaRouter), plus our per-route extensions named
// after Istio VirtualService (timeout, retries, fault). A field missing here is
// reported as unknown, so this list must follow the upstream schemas.

import { Schema } from './schema';

type Flags = { required?: boolean; nullable?: boolean; notEnforced?: string };
type Fields = Record<string, Schema>;

const str = (flags: Flags & { enum?: readonly string[]; nonEmpty?: boolean } = {}): Schema => ({ type: 'string', ...flags });
const bounds = (min?: number, max?: number) => ({ ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) });
const int = (min?: number, max?: number, flags: Flags = {}): Schema => ({ type: 'integer', ...bounds(min, max), ...flags });
const num = (min?: number, max?: number): Schema => ({ type: 'number', ...bounds(min, max) });
const bool = (): Schema => ({ type: 'boolean' });
const dur = (flags: Flags = {}): Schema => ({ type: 'duration', ...flags });
const any = (): Schema => ({ type: 'any' });
const obj = (fields: Fields, flags: Flags & { oneOf?: readonly (readonly string[])[] } = {}): Schema => ({
  type: 'object',
  fields,
  ...flags,
});
const arr = (items: Schema, flags: Flags = {}): Schema => ({ type: 'array', items, ...flags });
const map = (values: Schema, flags: Flags = {}): Schema => ({ type: 'map', values, ...flags });
const req = (s: Schema): Schema => ({ ...s, required: true });
const later = (s: Schema, note = ''): Schema => ({ ...s, notEnforced: note });

const UINT32 = 4_294_967_295;
const port = () => int(1, 65535);
const labels = () => map(str());
/** A WorkloadEntry spec; the same shape is a ServiceEntry's inline endpoint. */
const workloadEntry = (addressRequired: boolean): Schema =>
  obj({
    address: addressRequired ? req(str({ nonEmpty: true })) : str(),
    ports: map(port()),
    labels: labels(),
    network: later(str()),
    locality: str(),
    weight: int(0, UINT32),
    serviceAccount: str({ nonEmpty: true }),
  });
const exportTo = () => later(arr(str()), 'every manifest is visible to this process');

// ---- kubernetes object -------------------------------------------------------

export const metadataSchema: Schema = obj({
  name: req(str({ nonEmpty: true })),
  namespace: str({ nonEmpty: true }),
  labels: labels(),
  annotations: labels(),
  generateName: any(),
  uid: any(),
  resourceVersion: any(),
  generation: any(),
  creationTimestamp: any(),
  deletionTimestamp: any(),
  deletionGracePeriodSeconds: any(),
  ownerReferences: any(),
  finalizers: any(),
  managedFields: any(),
  selfLink: any(),
});

// ---- networking.istio.io ServiceEntry ---------------------------------------

export const serviceEntrySpecSchema: Schema = obj({
  hosts: req(arr(str({ nonEmpty: true }))),
  addresses: arr(str()),
  ports: req(
    arr(
      obj({
        number: req(port()),
        protocol: str(),
        name: req(str({ nonEmpty: true })),
        targetPort: port(),
      }),
    ),
  ),
  location: str({ enum: ['MESH_EXTERNAL', 'MESH_INTERNAL'] }),
  resolution: str({ enum: ['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'] }),
  endpoints: arr(workloadEntry(true)),
  workloadSelector: obj({ labels: labels() }),
  exportTo: exportTo(),
  subjectAltNames: arr(str({ nonEmpty: true })),
});

// ---- networking.istio.io WorkloadEntry --------------------------------------

/** Istio allows an empty address only for workloads that register themselves; here there is nothing to call without one. */
export const workloadEntrySpecSchema: Schema = workloadEntry(true);

// ---- networking.istio.io DestinationRule ------------------------------------

const tcpKeepalive = obj({ probes: int(0), time: dur(), interval: dur() });

const connectionPool = obj({
  tcp: obj({
    maxConnections: int(0),
    connectTimeout: dur(),
    tcpKeepalive: later(tcpKeepalive),
    maxConnectionDuration: later(dur()),
    idleTimeout: dur(),
  }),
  http: obj({
    http1MaxPendingRequests: int(0),
    http2MaxRequests: int(0),
    maxRequestsPerConnection: later(int(0)),
    maxRetries: int(0),
    idleTimeout: dur(),
    h2UpgradePolicy: later(str({ enum: ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'] })),
    useClientProtocol: later(bool()),
    maxConcurrentStreams: later(int(0)),
  }),
  // meta-mesh extension: the connection model (MetaProtocol Proxy's ApplicationProtocol.multiplexing).
  multiplexing: bool(),
});

const outlierDetection = obj({
  splitExternalLocalOriginErrors: bool(),
  consecutiveLocalOriginFailures: int(0),
  consecutiveGatewayErrors: int(0),
  consecutive5xxErrors: int(0),
  consecutiveErrors: int(0),
  interval: dur(),
  baseEjectionTime: dur(),
  maxEjectionPercent: int(0, 100),
  minHealthPercent: int(0, 100),
});

const aerakiHashOnly = 'Aeraki hashes on httpHeaderName only';

const loadBalancer = obj(
  {
    simple: str({ enum: ['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'] }),
    consistentHash: obj(
      {
        httpHeaderName: str({ nonEmpty: true }),
        httpCookie: later(obj({ name: req(str()), path: str(), ttl: dur(), attributes: any() }), aerakiHashOnly),
        useSourceIp: later(bool(), aerakiHashOnly),
        httpQueryParameterName: later(str(), aerakiHashOnly),
        ringHash: obj({ minimumRingSize: int(0, UINT32) }),
        maglev: obj({ tableSize: int(0, UINT32) }),
        minimumRingSize: int(0, UINT32),
      },
      { oneOf: [['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'], ['ringHash', 'maglev']] },
    ),
    localityLbSetting: obj({
      distribute: arr(obj({ from: str(), to: map(int(0)) })),
      failover: arr(obj({ from: str(), to: str() })),
      failoverPriority: arr(str()),
      enabled: bool(),
    }),
    warmupDurationSecs: dur(),
  },
  { oneOf: [['simple', 'consistentHash']] },
);

const tls = obj({
  mode: str({ enum: ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] }),
  clientCertificate: str(),
  privateKey: str(),
  caCertificates: str(),
  credentialName: str(),
  subjectAltNames: arr(str()),
  sni: str(),
  insecureSkipVerify: bool(),
  caCrl: str(),
});

// meta-mesh extensions on trafficPolicy (not Istio fields; documented as ours).
const errorRateBreaker = obj({
  errorThresholdPercentage: num(0, 100),
  volumeThreshold: int(0),
  resetTimeout: dur(),
  rollingCountTimeout: dur(),
  rollingCountBuckets: int(1, 1000),
});
const retryBudget = obj({ percent: num(0, 100), minRetryConcurrency: int(0) });

const trafficPolicy = obj({
  loadBalancer,
  connectionPool,
  outlierDetection,
  errorRateBreaker,
  retryBudget,
  tls,
  // Only tls is read per port; the other per-port settings are accepted with a warning.
  portLevelSettings: arr(
    obj({
      port: obj({ number: port() }),
      loadBalancer: later(loadBalancer),
      connectionPool: later(connectionPool),
      outlierDetection: later(outlierDetection),
      tls,
    }),
  ),
  proxyProtocol: later(obj({ version: str({ enum: ['V1', 'V2'] }) })),
  tunnel: later(obj({ protocol: str(), targetHost: req(str()), targetPort: req(port()) })),
});

export const destinationRuleSpecSchema: Schema = obj({
  host: req(str({ nonEmpty: true })),
  trafficPolicy,
  subsets: arr(obj({ name: req(str({ nonEmpty: true })), labels: labels(), trafficPolicy })),
  exportTo: exportTo(),
  workloadSelector: later(obj({ labels: labels() })),
});

// ---- metaprotocol.aeraki.io MetaRouter --------------------------------------

const stringMatch = obj({ exact: str(), prefix: str(), regex: str() }, { oneOf: [['exact', 'prefix', 'regex']], nullable: true });
const match = obj({ attributes: map(stringMatch) });
const destination = obj({ host: req(str({ nonEmpty: true })), subset: str(), port: obj({ number: int(0, 65535) }) });
const percent = obj({ value: num(0, 100) });
const keyValue = obj({ key: req(str({ nonEmpty: true })), value: str() });
const tokenBucket = obj({ maxTokens: req(int(1, UINT32)), tokensPerFill: int(1, UINT32), fillInterval: req(dur()) });

const metaRoute = obj({
  name: str(),
  match,
  route: req(arr(obj({ destination: req(destination), weight: int(0, UINT32) }))),
  mirror: destination,
  mirrorPercentage: percent,
  requestMutation: arr(keyValue),
  responseMutation: arr(keyValue),
  // meta-mesh extensions, named as in Istio VirtualService.
  timeout: dur(),
  retries: obj({ attempts: req(int(0)), perTryTimeout: dur(), retryOn: str(), idempotentMethods: arr(str({ nonEmpty: true })) }),
  fault: obj({
    delay: obj({ percentage: percent, fixedDelay: req(dur()) }),
    abort: obj({ percentage: percent, errorCode: req({ type: 'integerOrString' }) }),
  }),
});

export const metaRouterSpecSchema: Schema = obj({
  hosts: req(arr(str({ nonEmpty: true }))),
  gateways: later(arr(str())),
  routes: arr(metaRoute),
  localRateLimit: obj({ tokenBucket, conditions: arr(obj({ match, tokenBucket: req(tokenBucket) })) }),
  globalRateLimit: obj({
    match,
    domain: req(str({ nonEmpty: true })),
    requestTimeout: dur(),
    denyOnFail: bool(),
    rateLimitService: req(str({ nonEmpty: true })),
    descriptors: arr(obj({ property: req(str({ nonEmpty: true })), descriptorKey: req(str({ nonEmpty: true })) })),
  }),
  exportTo: exportTo(),
});
