// WorkloadEntry documents (networking.istio.io), selected by a ServiceEntry's
// workloadSelector: entries of the ServiceEntry's namespace whose labels hold
// every selector label. Pods are the other half of that selector in
// Kubernetes; only xds mode sees them.

import type { Manifest, WorkloadEntrySpec } from './manifest-types';

export class WorkloadEntries {
  private readonly byNamespace = new Map<string, Manifest<WorkloadEntrySpec>[]>();

  constructor(entries: readonly Manifest<WorkloadEntrySpec>[]) {
    for (const e of entries) {
      if (e.spec.address === undefined) continue;
      const list = this.byNamespace.get(e.namespace) ?? [];
      list.push(e);
      this.byNamespace.set(e.namespace, list);
    }
  }

  /** The entries of `namespace` whose spec.labels include every selector label, in document order. */
  select(namespace: string, selector: Readonly<Record<string, string>>): WorkloadEntrySpec[] {
    const want = Object.entries(selector);
    return (this.byNamespace.get(namespace) ?? [])
      .filter((e) => want.every(([k, v]) => e.spec.labels !== undefined && Object.hasOwn(e.spec.labels, k) && e.spec.labels[k] === v))
      .map((e) => e.spec);
  }
}
