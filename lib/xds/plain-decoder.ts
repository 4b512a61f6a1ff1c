// Decodes protobuf bytes straight into the plain objects proto-loader would
// return with PROTO_LOADER_OPTIONS (keepCase, longs and enums as strings, no
// defaults, oneof markers). proto-loader builds a protobufjs message and then
// copies it with toObject; for a 10,000-route RouteConfiguration that second
// object graph is most of the decode time, so this reads the wire once,
// guided by the same protobufjs reflection. Per message type it generates a
// decoder (as protobufjs does) and it interns short ASCII strings: a
// 10,000-route update is mostly the same few names repeated.
import type * as protobuf from 'protobufjs';

const enum Kind {
  Double,
  Float,
  Int32,
  Uint32,
  Sint32,
  Fixed32,
  Sfixed32,
  Int64,
  Uint64,
  Sint64,
  Fixed64,
  Sfixed64,
  Bool,
  String,
  Bytes,
  Enum,
  Message,
}

const KINDS: Readonly<Record<string, Kind>> = {
  double: Kind.Double,
  float: Kind.Float,
  int32: Kind.Int32,
  uint32: Kind.Uint32,
  sint32: Kind.Sint32,
  fixed32: Kind.Fixed32,
  sfixed32: Kind.Sfixed32,
  int64: Kind.Int64,
  uint64: Kind.Uint64,
  sint64: Kind.Sint64,
  fixed64: Kind.Fixed64,
  sfixed64: Kind.Sfixed64,
  bool: Kind.Bool,
  string: Kind.String,
  bytes: Kind.Bytes,
};

/** The wire type each kind is written with when not packed. */
function wireTypeOf(kind: Kind): number {
  switch (kind) {
    case Kind.Double:
    case Kind.Fixed64:
    case Kind.Sfixed64:
      return 1;
    case Kind.Float:
    case Kind.Fixed32:
    case Kind.Sfixed32:
      return 5;
    case Kind.String:
    case Kind.Bytes:
    case Kind.Message:
      return 2;
    default:
      return 0;
  }
}

interface ValuePlan {
  readonly kind: Kind;
  /** Set for Kind.Message. */
  readonly message: MessagePlan | undefined;
  /** Set for Kind.Enum: number → name. */
  readonly enumNames: Readonly<Record<number, string>> | undefined;
}

interface FieldPlan extends ValuePlan {
  readonly key: string;
  readonly id: number;
  readonly wireType: number;
  readonly repeated: boolean;
  /** The oneof marker property, when the field belongs to a oneof. */
  readonly oneof: string | undefined;
  /** Set for map fields: the entry's key kind (the value is this plan's). */
  readonly mapKey: Kind | undefined;
}

interface MessagePlan {
  /** Indexed by field number; sparse. */
  fields: (FieldPlan | undefined)[];
  /** Oneof name → member key → field number, for the oneof marker. */
  oneofIds: Record<string, Record<string, number>>;
  /** The generated decoder, built on first use. */
  decode: MessageDecoder | undefined;
}

type MessageDecoder = (r: WireReader, end: number) => Plain;

/** Returns a decoder for `type`; the plans are built once and shared. */
export function plainDecoder<T>(type: protobuf.Type): (bytes: Uint8Array) => T {
  const read = plainMessageReader<T>(type);
  return (bytes) => {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return read(new WireReader(buf), buf.length);
  };
}

/** Reads one `type` message from `r`'s position up to `end` (a message embedded in a larger one). */
export function plainMessageReader<T>(type: protobuf.Type): (r: WireReader, end: number) => T {
  const plan = planOf(type, new Map());
  return (r, end) => readMessage(r, plan, end) as T;
}

function planOf(type: protobuf.Type, plans: Map<protobuf.Type, MessagePlan>): MessagePlan {
  const known = plans.get(type);
  if (known !== undefined) return known;
  const plan: MessagePlan = { fields: [], oneofIds: {}, decode: undefined };
  plans.set(type, plan);
  for (const f of type.fieldsArray) {
    f.resolve();
    const value = valuePlan(f.resolvedType, f.type, plans);
    const isMap = f.map;
    const mapKey = isMap ? KINDS[(f as unknown as protobuf.MapField).keyType] : undefined;
    if (f.partOf !== null) (plan.oneofIds[f.partOf.name] ??= {})[f.name] = f.id;
    // Built field by field (not spread) so every plan shares one hidden class
    // and the hot loop's property reads stay monomorphic.
    plan.fields[f.id] = {
      kind: value.kind,
      message: value.message,
      enumNames: value.enumNames,
      key: f.name,
      id: f.id,
      wireType: isMap ? 2 : wireTypeOf(value.kind),
      repeated: f.repeated,
      oneof: f.partOf === null ? undefined : f.partOf.name,
      mapKey,
    };
  }
  return plan;
}

function valuePlan(resolved: protobuf.Type | protobuf.Enum | null, typeName: string, plans: Map<protobuf.Type, MessagePlan>): ValuePlan {
  if (resolved === null) {
    const kind = KINDS[typeName];
    if (kind === undefined) throw new Error(`protobuf type '${typeName}' is not resolved`);
    return { kind, message: undefined, enumNames: undefined };
  }
  if ('fieldsArray' in resolved) return { kind: Kind.Message, message: planOf(resolved, plans), enumNames: undefined };
  const names: Record<number, string> = {};
  // valuesById keeps the first name of an aliased value, as toObject does.
  for (const [id, name] of Object.entries(resolved.valuesById)) names[Number(id)] = name;
  return { kind: Kind.Enum, message: undefined, enumNames: names };
}

type Plain = Record<string, unknown>;

function readMessage(r: WireReader, plan: MessagePlan, end: number): Plain {
  return (plan.decode ?? compileDecoder(plan))(r, end);
}

/**
 * Generates `plan`'s decoder, as protobufjs does for its own: one switch case
 * per field tag storing under a literal property name, so every object of a
 * type is built through the same monomorphic stores. A string or message
 * field read with its own wire type is handled inline; anything else
 * (scalars, maps, packed lists, unexpected wire types, unknown fields) goes
 * to readField. Field names come from the .proto and are quoted with
 * JSON.stringify, so no input reaches the generated source.
 */
function compileDecoder(plan: MessagePlan): MessageDecoder {
  const subPlans: MessagePlan[] = [];
  const cases: string[] = [];
  for (const f of plan.fields) {
    if (f === undefined || f.mapKey !== undefined || (f.kind !== Kind.String && f.kind !== Kind.Message)) continue;
    const key = JSON.stringify(f.key);
    const read = f.kind === Kind.String ? 'r.string(end)' : `readSub(r, end, P[${subPlans.push(f.message as MessagePlan) - 1}])`;
    const store = f.repeated ? `{ const v = ${read}; const l = out[${key}]; if (l === undefined) out[${key}] = [v]; else l.push(v); }` : `out[${key}] = ${read};`;
    // toObject names the set member of a oneof with the highest field number.
    const marker =
      f.oneof === undefined
        ? ''
        : ` { const p = out[${JSON.stringify(f.oneof)}]; if (p === undefined || O[${JSON.stringify(f.oneof)}][p] <= ${f.id}) out[${JSON.stringify(f.oneof)}] = ${key}; }`;
    cases.push(`      case ${((f.id << 3) | 2) >>> 0}: ${store}${marker} break;`);
  }
  const source = `return function decode(r, end) {
  const out = {};
  const buf = r.buf;
  while (r.pos < end) {
    let tag = buf[r.pos];
    if (tag < 128) r.pos++;
    else tag = r.uint32();
    switch (tag) {
${cases.join('\n')}
      default: readField(r, plan, out, tag, end);
    }
  }
  if (r.pos !== end) throw new RangeError('index out of range: ' + r.pos + ' + 0 > ' + end);
  return out;
};`;
  const decode = new Function('plan', 'P', 'O', 'readSub', 'readField', source)(plan, subPlans, plan.oneofIds, readSub, readField) as MessageDecoder;
  plan.decode = decode;
  return decode;
}

function readSub(r: WireReader, end: number, plan: MessagePlan): Plain {
  const stop = r.limit(r.uint32(), end);
  return (plan.decode ?? compileDecoder(plan))(r, stop);
}

/** Reads one field whose tag was just read, the general way. */
function readField(r: WireReader, plan: MessagePlan, out: Plain, tag: number, end: number): void {
  const id = tag >>> 3;
  const wt = tag & 7;
  const fields = plan.fields;
  const f = id < fields.length ? fields[id] : undefined;
  if (f === undefined) {
    r.skip(wt, end);
    return;
  }
  if (f.mapKey !== undefined) {
    if (wt !== 2) {
      r.skip(wt, end);
      return;
    }
    readMapEntry(r, f, out);
  } else if (f.repeated) {
    if (wt === 2 && f.wireType !== 2) {
      // Packed scalars; toObject leaves out a list that stays empty.
      const stop = r.limit(r.uint32(), end);
      if (r.pos < stop) {
        const list = listOf(out, f.key);
        while (r.pos < stop) list.push(readValue(r, f, stop));
      }
    } else if (wt === f.wireType) {
      listOf(out, f.key).push(readValue(r, f, end));
    } else {
      r.skip(wt, end);
      return;
    }
  } else if (wt === f.wireType) {
    out[f.key] = readValue(r, f, end);
  } else {
    r.skip(wt, end);
    return;
  }
  if (f.oneof !== undefined) {
    // toObject names the set member with the highest field number.
    const prev = out[f.oneof] as string | undefined;
    // Every oneof member (prev is one) was entered in oneofIds when the plan was built.
    if (prev === undefined || plan.oneofIds[f.oneof]![prev]! <= f.id) out[f.oneof] = f.key;
  }
}

function listOf(out: Plain, key: string): unknown[] {
  let list = out[key] as unknown[] | undefined;
  if (list === undefined) {
    list = [];
    out[key] = list;
  }
  return list;
}

function readMapEntry(r: WireReader, f: FieldPlan, out: Plain): void {
  const stop = r.limit(r.uint32(), Infinity);
  let key: unknown = f.mapKey === Kind.String ? '' : 0;
  let value: unknown = f.kind === Kind.Message ? {} : undefined;
  while (r.pos < stop) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === wireTypeOf(f.mapKey as Kind)) {
      key = readValue(r, { kind: f.mapKey as Kind, message: undefined, enumNames: undefined }, stop);
    } else if (tag >>> 3 === 2 && (tag & 7) === wireTypeOf(f.kind)) {
      value = readValue(r, f, stop);
    } else {
      r.skip(tag & 7, stop);
    }
  }
  let map = out[f.key] as Plain | undefined;
  if (map === undefined) {
    map = {};
    out[f.key] = map;
  }
  map[String(key)] = value;
}

function readValue(r: WireReader, v: ValuePlan, end: number): unknown {
  switch (v.kind) {
    case Kind.String:
      return r.string(end);
    case Kind.Message: {
      const stop = r.limit(r.uint32(), end);
      return readMessage(r, v.message as MessagePlan, stop);
    }
    case Kind.Uint32:
      return r.uint32();
    case Kind.Int32:
      return r.uint32() | 0;
    case Kind.Sint32: {
      const n = r.uint32();
      return (n >>> 1) ^ -(n & 1);
    }
    case Kind.Bool:
      return r.uint32() !== 0;
    case Kind.Enum: {
      const n = r.uint32() | 0;
      const name = (v.enumNames as Readonly<Record<number, string>>)[n];
      return name === undefined ? n : name;
    }
    case Kind.Int64:
      return BigInt.asIntN(64, r.varint64()).toString();
    case Kind.Uint64:
      return r.varint64().toString();
    case Kind.Sint64: {
      const n = r.varint64();
      return ((n >> 1n) ^ -(n & 1n)).toString();
    }
    case Kind.Fixed64:
      return r.fixed64(end).toString();
    case Kind.Sfixed64:
      return BigInt.asIntN(64, r.fixed64(end)).toString();
    case Kind.Fixed32:
      return r.fixed32(end);
    case Kind.Sfixed32:
      return r.fixed32(end) | 0;
    case Kind.Float:
      return r.float(end);
    case Kind.Double:
      return r.double(end);
    case Kind.Bytes:
      return r.bytes(end);
    default:
      throw new Error(`unknown protobuf kind ${String(v.kind)}`);
  }
}

/** Node's Buffer slice methods, which toString(encoding, ...) dispatches to; not in @types/node. */
interface BufferSlices {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

const INTERN_MAX_LENGTH = 64;
const INTERN_SLOTS = 4096;
/** A direct-mapped cache of recently decoded short ASCII strings; a collision just replaces the slot. */
const internTable: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

/** A position in protobuf bytes, read forwards. */
export class WireReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  uint32(): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= buf.length) throw outOfRange(this.pos, 1, buf.length);
      const b = buf[this.pos++]!;
      value |= (b & 127) << shift;
      if (b < 128) return value >>> 0;
    }
    // Bytes beyond the fifth carry bits above 32; skip them as protobufjs does.
    for (let i = 0; i < 5; i++) {
      if (this.pos >= buf.length) throw outOfRange(this.pos, 1, buf.length);
      if (buf[this.pos++]! < 128) return value >>> 0;
    }
    throw new Error('invalid varint encoding');
  }

  varint64(): bigint {
    const buf = this.buf;
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= buf.length) throw outOfRange(this.pos, 1, buf.length);
      const b = buf[this.pos++]!;
      value |= BigInt(b & 127) << shift;
      if (b < 128) return BigInt.asUintN(64, value);
    }
    throw new Error('invalid varint encoding');
  }

  /** The end of a length-delimited value of `len` bytes, checked against `end`. */
  limit(len: number, end: number): number {
    const stop = this.pos + len;
    if (stop > this.buf.length || stop > end) throw outOfRange(this.pos, len, Math.min(end, this.buf.length));
    return stop;
  }

  string(end: number): string {
    return this.stringTo(this.limit(this.uint32(), end));
  }

  /** The string from here to `stop` (already checked), interning short ASCII ones. */
  stringTo(stop: number): string {
    const buf = this.buf;
    const start = this.pos;
    this.pos = stop;
    const len = stop - start;
    if (len === 0) return '';
    if (len > INTERN_MAX_LENGTH) return (buf as unknown as BufferSlices).utf8Slice(start, stop);
    // xDS resources repeat the same few names (hosts, clusters, header keys)
    // thousands of times; handing back one string per value spares the
    // allocation and the young-generation copies that dominate decode time.
    let hash = len;
    let ascii = 0;
    for (let i = start; i < stop; i++) {
      const b = buf[i]!; // stop was checked against the buffer (limit)
      ascii |= b;
      hash = Math.imul(hash ^ b, 0x01000193);
    }
    if (ascii >= 128) return (buf as unknown as BufferSlices).utf8Slice(start, stop);
    const slot = (hash ^ (hash >>> 15)) & (INTERN_SLOTS - 1);
    const known = internTable[slot];
    if (known !== undefined && known.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (known.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return known;
    }
    const s = (buf as unknown as BufferSlices).latin1Slice(start, stop);
    internTable[slot] = s;
    return s;
  }

  /**
   * The string at the reader's position: `last` itself when the bytes spell
   * it in ASCII (one compare, no hashing or allocation), else as string()
   * reads it. For fields that repeat the previous message's value.
   */
  stringLike(end: number, last: string): string {
    const stop = this.limit(this.uint32(), end);
    const start = this.pos;
    const len = stop - start;
    if (len === last.length && len > 0) {
      const buf = this.buf;
      let i = 0;
      while (i < len) {
        const b = buf[start + i];
        if (b !== last.charCodeAt(i) || b >= 128) break;
        i++;
      }
      if (i === len) {
        this.pos = stop;
        return last;
      }
    }
    return this.stringTo(stop);
  }

  bytes(end: number): Buffer {
    const stop = this.limit(this.uint32(), end);
    const b = Buffer.from(this.buf.subarray(this.pos, stop));
    this.pos = stop;
    return b;
  }

  fixed32(end: number): number {
    this.limit(4, end);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(end: number): bigint {
    this.limit(8, end);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  float(end: number): number {
    this.limit(4, end);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  double(end: number): number {
    this.limit(8, end);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Skips a field of wire type `wt` whose tag was just read. */
  skip(wt: number, end: number): void {
    switch (wt) {
      case 0:
        this.uint32();
        return;
      case 1:
        this.pos = this.limit(8, end);
        return;
      case 2:
        this.pos = this.limit(this.uint32(), end);
        return;
      case 3:
        for (;;) {
          const tag = this.uint32();
          if ((tag & 7) === 4) return;
          this.skip(tag & 7, end);
        }
      case 5:
        this.pos = this.limit(4, end);
        return;
      default:
        throw new Error(`invalid wire type ${wt} at offset ${this.pos}`);
    }
  }
}

function outOfRange(pos: number, len: number, limit: number): RangeError {
  return new RangeError(`index out of range: ${pos} + ${len} > ${limit}`);
}
