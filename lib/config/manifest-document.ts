// One YAML document of a manifest file: knows its file, its position and its
// label ("MetaRouter default/calc-route (document 3)"), and turns a field path
// into a line number so problems point at the line to edit. A document read
// by the fast path for large files (parse-config.ts) carries its own text
// instead (DocumentText): the first message that needs a line parses that
// one document the positioned way, so a problem in a 100k-endpoint file
// costs the parse of its document, not of the whole file.

import type { Document, LineCounter } from 'yaml';
import type { ConfigProblem } from './config-error';
import { Diagnostics } from './diagnostics';
import { positionedYaml } from './positioned-yaml';

export type FieldPath = readonly (string | number)[];

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** "spec.routes[0].route[1].destination", quoting keys such as label names with dots. */
export function fieldName(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** A document's text inside its file's, for finding lines only when a message needs one. */
export interface DocumentText {
  readonly text: string;
  /** The document is text.slice(start, end), and parses alone as it does in the file. */
  readonly start: number;
  readonly end: number;
  /** The 1-based line of the file that `start` is on. */
  readonly lineOf: (offset: number) => number;
}

export class ManifestDocument {
  /** Refined once kind and name are known. */
  label: string;
  /** Lines of the document's own parse are this many lines into the file (a DocumentText's). */
  private lineBase = 0;
  /** Problems and warnings reported about this document so far (repeats included): checks compare it to see whether a value was clean. */
  reports = 0;

  constructor(
    readonly file: string,
    /** 1-based position of the document in its file. */
    readonly index: number,
    private yaml: Document.Parsed | undefined,
    private lines: LineCounter | undefined,
    private readonly diagnostics: Diagnostics,
    /** The document's text, parsed on the first look-up of a line (when `yaml` is not given). */
    private text?: DocumentText | undefined,
  ) {
    this.label = `document ${index}`;
  }

  /** Sets the label once kind, namespace and name have been read. */
  identify(kind: string, namespace: string, name: string): void {
    this.label = `${kind} ${namespace}/${name} (document ${this.index})`;
  }

  problem(path: FieldPath, message: string): void {
    this.reports++;
    this.diagnostics.problem(this.at(path, message));
  }

  warn(path: FieldPath, message: string): void {
    this.reports++;
    this.diagnostics.warn(this.at(path, message));
  }

  /** `file:line` of a field, for messages that point from one manifest to another. */
  where(path: FieldPath): string {
    const line = this.lineOf(path);
    return line === undefined ? this.file : `${this.file}:${line}`;
  }

  /** The line of the deepest node of `path` present in the document (a map entry's key line). */
  lineOf(path: FieldPath): number | undefined {
    if (this.yaml === undefined && this.text !== undefined) this.parseText(this.text);
    if (this.yaml === undefined) return undefined;
    const { isMap, isScalar, isSeq } = positionedYaml();
    let node: unknown = this.yaml.contents;
    let line = this.lineAt(node);
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair === undefined) break;
        line = this.lineAt(pair.key) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (node === undefined) break;
        line = this.lineAt(node) ?? line;
      } else {
        break;
      }
    }
    return line;
  }

  private at(path: FieldPath, message: string): ConfigProblem {
    const line = this.lineOf(path);
    return { file: this.file, ...(line === undefined ? {} : { line }), document: this.label, field: fieldName(path), message };
  }

  private lineAt(node: unknown): number | undefined {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range === undefined || this.lines === undefined ? undefined : this.lineBase + this.lines.linePos(range[0]).line;
  }

  /** Parses the document's own text with positions (as parse-config.ts parses a whole file). */
  private parseText(text: DocumentText): void {
    this.text = undefined;
    const { LineCounter, parseDocument } = positionedYaml();
    const lines = new LineCounter();
    this.yaml = parseDocument(text.text.slice(text.start, text.end), { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    this.lines = lines;
    this.lineBase = text.lineOf(text.start) - 1;
  }
}
