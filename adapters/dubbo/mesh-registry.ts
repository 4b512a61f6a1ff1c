// meshRegistry: the `register` option for a dubbo-js client whose calls go
// through meta-mesh. Providers come from the mesh config, so this registry
// connects to nothing: no ZooKeeper session and no dubbo-js sockets, which
// also means no dubbo-js timers keep the process alive.
import { Registry } from 'apache-dubbo-js';
import { assertNodeUtilForDubbo } from './node-util-shim';

export function meshRegistry(): (props: unknown) => Registry {
  // Evaluated before `new Dubbo()` runs: on Node 23+ say what to call instead of dubbo-js's TypeError.
  assertNodeUtilForDubbo();
  return (props: unknown) => new Registry(props as object);
}
