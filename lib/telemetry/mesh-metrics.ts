// MeshMetrics: counters for engine events that happen outside one call's
// filter chain (outlier ejections, retries, mirrored requests). The engine
// calls these; they cost one provider check while no SDK is registered, plus
// one plain counter each, kept always for the admin endpoint's /stats.
import type { Attributes } from '@opentelemetry/api';
import { sharedInstruments, type MeterInstruments } from './meter-instruments';

export class MeshMetrics {
  // Attribute sets per cluster, built once: clusters come from config, so they are few.
  private readonly byCluster = new Map<string, Attributes>();
  private readonly mirroredByCluster = new Map<string, readonly [sent: Attributes, dropped: Attributes]>();
  private readonly plain = new Map<string, number>();

  constructor(private readonly instruments: MeterInstruments = sharedInstruments) {}

  /** Outlier detection ejected an endpoint of `cluster`. */
  ejection(cluster: string): void {
    this.count(`cluster.${cluster}.outlier_detection.ejections_total`);
    this.instruments.current()?.meshInstruments().ejections.add(1, this.clusterAttributes(cluster));
  }

  /** An outbound call to `cluster` is being tried again. */
  retry(cluster: string): void {
    this.count(`cluster.${cluster}.upstream_rq_retry`);
    this.instruments.current()?.meshInstruments().retries.add(1, this.clusterAttributes(cluster));
  }

  /** A mirrored copy of a call to `cluster` was sent, or dropped by the mirror's bounds. */
  mirrored(cluster: string, dropped: boolean): void {
    this.count(`cluster.${cluster}.${dropped ? 'mirror_dropped' : 'mirror_sent'}`);
    const set = this.instruments.current();
    if (set === undefined) return;
    let pair = this.mirroredByCluster.get(cluster);
    if (pair === undefined) {
      pair = [
        { 'meta_mesh.cluster': cluster, 'meta_mesh.mirror.dropped': false },
        { 'meta_mesh.cluster': cluster, 'meta_mesh.mirror.dropped': true },
      ];
      this.mirroredByCluster.set(cluster, pair);
    }
    set.meshInstruments().mirrored.add(1, dropped ? pair[1] : pair[0]);
  }

  /** Every event counted since the mesh started, by Envoy-style stat name (cluster.<name>.upstream_rq_retry, ...). */
  get counters(): ReadonlyMap<string, number> {
    return this.plain;
  }

  private count(name: string): void {
    this.plain.set(name, (this.plain.get(name) ?? 0) + 1);
  }

  private clusterAttributes(cluster: string): Attributes {
    let attributes = this.byCluster.get(cluster);
    if (attributes === undefined) {
      attributes = { 'meta_mesh.cluster': cluster };
      this.byCluster.set(cluster, attributes);
    }
    return attributes;
  }
}
