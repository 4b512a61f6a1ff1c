// LabelSets: one frozen object per distinct set of endpoint labels. A
// 100k-endpoint ServiceEntry usually has a handful of label sets (version:
// v1, v2); each endpoint keeping its own copy costs an object per endpoint
// to build, to hold, and to number when the snapshot crosses threads
// (snapshot-transfer.ts finds a shared set by identity). Sets are told apart
// by their keys and values in order, without building a string per endpoint;
// the same keys in another order are another set (their JSON differs).

type Labels = Readonly<Record<string, string>>;

interface Node {
  set?: Labels;
  readonly next: Map<string, Map<string, Node>>;
}

export class LabelSets {
  private readonly root: Node = { next: new Map() };

  /** A frozen copy of `labels`, the same object for every equal set. */
  of(labels: Labels | undefined): Labels {
    let node = this.root;
    if (labels !== undefined) {
      for (const key of Object.keys(labels)) {
        const value = labels[key] as string; // a key Object.keys just gave
        let byValue = node.next.get(key);
        if (byValue === undefined) node.next.set(key, (byValue = new Map()));
        let child = byValue.get(value);
        if (child === undefined) byValue.set(value, (child = { next: new Map() }));
        node = child;
      }
    }
    node.set ??= Object.freeze({ ...labels });
    return node.set;
  }
}
