// The soak's two YAML files: the client mesh's (a Thrift Calculator service
// and a Dubbo Demo service, each with versions, weighted routes, retries, a
// timeout and a mirror) and the servers' (the Calculator's inbound local rate
// limit). `variant` flips weights and limits so every edit changes something.

export const THRIFT_HOST = 'calc.soak.svc';
export const THRIFT_PORT = 9090;
export const DUBBO_IFACE = 'org.example.DemoService';
export const DUBBO_HOST = DUBBO_IFACE.toLowerCase();
export const DUBBO_PORT = 20880;

export interface SoakEndpoint {
  readonly port: number;
  readonly version: string;
}

function serviceEntry(name: string, host: string, port: number, portName: string, endpoints: readonly SoakEndpoint[]): string {
  const eps = endpoints.map((e) => `    - address: 127.0.0.1\n      ports:\n        ${portName}: ${e.port}\n      labels:\n        version: ${e.version}`).join('\n');
  const subsets = [...new Set(endpoints.map((e) => e.version))].map((v) => `    - name: ${v}\n      labels:\n        version: ${v}`).join('\n');
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: ${name}
spec:
  hosts: [${host}]
  ports:
    - number: ${port}
      name: ${portName}
      protocol: TCP
  resolution: STATIC
  endpoints:
${eps}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: ${name}
spec:
  host: ${host}
  subsets:
${subsets}
`;
}

function split(host: string, v1: number): string {
  return `        - destination:\n            host: ${host}\n            subset: v1\n          weight: ${v1}\n        - destination:\n            host: ${host}\n            subset: v2\n          weight: ${100 - v1}`;
}

const RETRIES = `      timeout: 3s
      retries:
        attempts: 2
        perTryTimeout: 1s
        retryOn: connect-failure,reset,unavailable`;

/** The client side: where calls go. */
export function clientYaml(thrift: readonly SoakEndpoint[], dubbo: readonly SoakEndpoint[], variant: number): string {
  const v1 = variant % 2 === 0 ? 80 : 50;
  return `# meta-mesh soak: client config, edit ${variant}
${serviceEntry('calc', THRIFT_HOST, THRIFT_PORT, 'tcp-metaprotocol-thrift', thrift)}---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: calc
spec:
  hosts: [${THRIFT_HOST}]
  routes:
    - name: add-split
      match:
        attributes:
          method:
            exact: add
      route:
${split(THRIFT_HOST, v1)}
      mirror:
        host: ${THRIFT_HOST}
        subset: v2
      mirrorPercentage:
        value: 25
${RETRIES}
    - name: rest
      route:
${split(THRIFT_HOST, 100 - v1)}
${RETRIES}
---
${serviceEntry('demo', DUBBO_HOST, DUBBO_PORT, 'tcp-metaprotocol-dubbo', dubbo)}---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: demo
spec:
  hosts: [${DUBBO_HOST}]
  routes:
    - name: split
      route:
${split(DUBBO_HOST, v1)}
${RETRIES}
`;
}

/** The servers' side: the Calculator's inbound rate limit (version() is limited; other methods have a roomy bucket). */
export function serverYaml(variant: number): string {
  const perSecond = variant % 2 === 0 ? 40 : 60;
  return `# meta-mesh soak: server config, edit ${variant}
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: calc
spec:
  hosts: [${THRIFT_HOST}]
  ports:
    - number: ${THRIFT_PORT}
      name: tcp-metaprotocol-thrift
      protocol: TCP
  resolution: STATIC
---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: calc
spec:
  hosts: [${THRIFT_HOST}]
  routes:
    - name: all
      route:
        - destination:
            host: ${THRIFT_HOST}
  localRateLimit:
    tokenBucket:
      maxTokens: 100000
      tokensPerFill: 100000
      fillInterval: 1s
    conditions:
      - match:
          attributes:
            method:
              exact: version
        tokenBucket:
          maxTokens: ${perSecond}
          tokensPerFill: ${perSecond}
          fillInterval: 1s
`;
}
