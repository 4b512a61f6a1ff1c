// ConfigError: every problem found in a set of manifests, thrown at once so a
// user fixes them in one pass instead of one per run.

import { MeshError, MeshErrorCode } from '../protocol';

export interface ConfigProblem {
  readonly file: string;
  /** 1-based line in `file`, when known. */
  readonly line?: number;
  /** Which manifest, e.g. "MetaRouter default/calc-route (document 3)". */
  readonly document: string;
  /** Path inside the document, e.g. "spec.routes[0].route[1].destination.subset". */
  readonly field: string;
  /** What is wrong and what to change. */
  readonly message: string;
}

/** `file:line: <document>: <field>: <message>`, leaving out the parts that are unknown. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  const parts = [where];
  if (p.document !== '') parts.push(p.document);
  if (p.field !== '') parts.push(p.field);
  parts.push(p.message);
  return parts.join(': ');
}

const brand = Symbol.for('meta-mesh.ConfigError');

export class ConfigError extends MeshError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const n = problems.length;
    const head = `${n} problem${n === 1 ? '' : 's'} in the mesh configuration:`;
    super(MeshErrorCode.CONFIG, [head, ...problems.map((p) => `  ${formatProblem(p)}`)].join('\n'), {
      details: { problems: n },
    });
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
    (this as unknown as Record<symbol, boolean>)[brand] = true;
  }

  // MeshError's check would accept any MeshError; this one wants a ConfigError (from any copy of meta-mesh).
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}
