// Collects the problems and warnings of one parse, so every file is checked
// before anything is thrown and each problem is reported once.

import { ConfigError, ConfigProblem, formatProblem } from './config-error';

/** What a Diagnostics holds, as plain data (it crosses to the worker thread that parses large configs). */
export interface DiagnosticsState {
  readonly problems: readonly ConfigProblem[];
  readonly warnings: readonly string[];
  readonly files: readonly string[];
}

export class Diagnostics {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();
  private readonly files = new Map<string, number>();

  /** Diagnostics holding what `state` holds. */
  static from(state: DiagnosticsState): Diagnostics {
    const d = new Diagnostics();
    for (const f of state.files) d.file(f);
    for (const p of state.problems) d.problem(p);
    for (const w of state.warnings) {
      d.seen.add(w);
      d.warnings.push(w);
    }
    return d;
  }

  state(): DiagnosticsState {
    return { problems: [...this.problems], warnings: [...this.warnings], files: [...this.files.keys()] };
  }

  /** Records the order files were given in, which is the order problems are listed in. */
  file(name: string): void {
    if (!this.files.has(name)) this.files.set(name, this.files.size);
  }

  problem(p: ConfigProblem): void {
    // The same destination is resolved once per service port; say it once.
    const key = formatProblem(p);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.problems.push(p);
  }

  warn(p: ConfigProblem): void {
    const text = formatProblem(p);
    if (this.seen.has(text)) return;
    this.seen.add(text);
    this.warnings.push(text);
  }

  throwIfProblems(): void {
    if (this.problems.length === 0) return;
    // Cross-manifest problems are found after all files are read; list them in file and line order.
    const rank = (p: ConfigProblem) => this.files.get(p.file) ?? -1;
    const sorted = [...this.problems].sort((a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(sorted);
  }
}
