// MetaRouter match.attributes → metadata matchers, translated as Aeraki does:
// exact/prefix/regex map one to one, a key with no value or regex "*" means
// "present", and an empty {} is dropped.

import { FieldPath, ManifestDocument } from './manifest-document';
import { StringMatchSpec } from './manifest-types';
import { MetadataMatcher } from './model';
import { regexCheck } from './regex-check';

export function attributeMatchers(
  attributes: Readonly<Record<string, StringMatchSpec>> | undefined,
  path: FieldPath,
  doc: ManifestDocument,
): MetadataMatcher[] {
  const out: MetadataMatcher[] = [];
  for (const [key, m] of Object.entries(attributes ?? {})) {
    const at = [...path, key];
    const name = key.toLowerCase();
    if (m === null) {
      out.push(Object.freeze({ name, kind: 'present', present: true }));
    } else if (m.exact !== undefined) {
      // Envoy: an empty exact value matches any present key; say so plainly.
      out.push(Object.freeze(m.exact === '' ? { name, kind: 'present', present: true } : { name, kind: 'exact', value: m.exact }));
    } else if (m.prefix !== undefined) {
      if (m.prefix === '') {
        doc.problem([...at, 'prefix'], "must not be empty (Envoy rejects it); write the key with no value to match any call that has it");
        continue;
      }
      out.push(Object.freeze({ name, kind: 'prefix', value: m.prefix }));
    } else if (m.regex !== undefined) {
      if (m.regex === '*') {
        out.push(Object.freeze({ name, kind: 'present', present: true }));
        continue;
      }
      const problem = m.regex === '' ? 'must not be empty (Envoy rejects it)' : regexCheck(m.regex);
      if (problem !== undefined) {
        doc.problem([...at, 'regex'], problem);
        continue;
      }
      out.push(Object.freeze({ name, kind: 'regex', value: m.regex }));
    } else {
      doc.warn(at, `attribute '${key}' has an empty matcher and is dropped, as Aeraki does; set exact, prefix or regex, or write '${key}:' with no value to require the key`);
    }
  }
  return out;
}
