// HealthyView: the table a hashing balancer (ring hash, maglev) picks from,
// built as Envoy builds it: from the hosts available now. Envoy's thread-aware
// balancers rebuild their ring or table whenever host health changes (an
// outlier ejection, EDS health, a return), over the healthy hosts only (all
// hosts in panic), so a key whose host went away moves to where a fresh
// table over the survivors puts it, not to the next point on the old one.
// The view is rebuilt only when the set of available hosts changes: checked
// when PickContext.availabilityVersion changes (each pick when the caller
// gives no version), and never for a retry pick, which walks on from the
// key's slot in the view in force, as Envoy's retry attempts do.
import type { Endpoint } from '../../config/model';
import type { PickContext } from './load-balancer';

export interface View<T> {
  readonly table: T;
  /** Endpoint index of each of the table's hosts; undefined when the table covers every endpoint in order. */
  readonly indices: Int32Array | undefined;
}

export class HealthyView<T> {
  private view: View<T>;
  /** Availability the view was built for; undefined = every endpoint. */
  private mask: Uint8Array | undefined;
  private version: number | undefined;
  private versioned = false;
  /** Views built since construction (for tests and stats). */
  rebuilds = 0;

  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly build: (endpoints: readonly Endpoint[]) => T,
    private readonly full: T,
  ) {
    this.view = { table: full, indices: undefined };
  }

  /** The view for this pick's context. */
  current(context: PickContext | undefined): View<T> {
    const available = context?.isAvailable;
    if (available === undefined) {
      if (this.mask !== undefined) this.reset();
      return this.view;
    }
    // A retry avoids the hosts it tried by walking on, in the view in force.
    if (context!.attempt !== undefined && context!.attempt > 0) return this.view;
    const version = context!.availabilityVersion;
    if (version !== undefined && this.versioned && version === this.version) return this.view;
    this.version = version;
    this.versioned = version !== undefined;
    this.refresh(available);
    return this.view;
  }

  private refresh(available: (index: number) => boolean): void {
    const n = this.endpoints.length;
    let next: Uint8Array | undefined;
    for (let i = 0; i < n; i++) {
      if (available(i)) continue;
      next ??= new Uint8Array(n).fill(1);
      next[i] = 0;
    }
    if (next === undefined) {
      if (this.mask !== undefined) this.reset();
      return;
    }
    const previous = this.mask;
    if (previous !== undefined && previous.every((v, i) => v === next![i])) return;
    this.mask = next;
    const indices: number[] = [];
    for (let i = 0; i < n; i++) if (next[i] === 1) indices.push(i);
    this.view = { table: this.build(indices.map((i) => this.endpoints[i]!)), indices: Int32Array.from(indices) };
    this.rebuilds++;
  }

  private reset(): void {
    this.mask = undefined;
    this.view = { table: this.full, indices: undefined };
  }
}
