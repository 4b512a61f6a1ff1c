// MeshMetrics: counters for engine events that happen outside one call's
// filter chain (outlier ejections, retries, mirrored requests). The engine
// calls these; they cost one provider check while no SDK is registered.
import type { Attributes } from '@opentelemetry/api';
import { sharedInstruments, type MeterInstruments } from './meter-instruments';

export class MeshMetrics {
  // Attribute sets per cluster, built once: clusters come from config, so they are few.
  private readonly byCluster = new Map<string, Attributes>();
  private readonly mirroredByCluster = new Map<string, readonly [sent: Attributes, dropped: Attributes]>();

  constructor(private readonly instruments: MeterInstruments = sharedInstruments) {}

  /** Outlier detection ejected an endpoint of `cluster`. */
  ejection(cluster: string): void {
    this.instruments.current()?.meshInstruments().ejections.add(1, this.clusterAttributes(cluster));
  }

  /** An outbound call to `cluster` is being tried again. */
  retry(cluster: string): void {
    this.instruments.current()?.meshInstruments().retries.add(1, this.clusterAttributes(cluster));
  }

  /** A mirrored copy of a call to `cluster` was sent, or dropped by the mirror's bounds. */
  mirrored(cluster: string, dropped: boolean): void {
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

  private clusterAttributes(cluster: string): Attributes {
    let attributes = this.byCluster.get(cluster);
    if (attributes === undefined) {
      attributes = { 'meta_mesh.cluster': cluster };
      this.byCluster.set(cluster, attributes);
    }
    return attributes;
  }
}
