// Writes a call whose args struct holds every Thrift type (nested, empty and
// long collections, boolean lists, large and out-of-order field ids) with the
// real library's protocol writers, to exercise the codec's struct skipper.
import { T } from './thrift-wire';

export function allTypesMessage(protocol: 'binary' | 'compact'): Buffer {
  const chunks: Buffer[] = [];
  const trans = new T.TBufferedTransport(undefined, (buf: Buffer) => chunks.push(Buffer.from(buf)));
  const p = new (protocol === 'binary' ? T.TBinaryProtocol : T.TCompactProtocol)(trans);
  const Type = T.Thrift.Type;
  const field = (id: number, type: number, write: () => void) => {
    p.writeFieldBegin('f', type, id);
    write();
    p.writeFieldEnd();
  };
  const list = (etype: number, items: unknown[], write: (v: unknown) => void) => {
    p.writeListBegin(etype, items.length);
    items.forEach(write);
    p.writeListEnd();
  };
  const inner = (n: number) => {
    p.writeStructBegin('inner');
    field(1, Type.I32, () => p.writeI32(n));
    field(20, Type.STRING, () => p.writeString(`inner-${n}`));
    field(2, Type.BOOL, () => p.writeBool(n % 2 === 0));
    p.writeFieldStop();
    p.writeStructEnd();
  };

  p.writeMessageBegin('everything', T.Thrift.MessageType.CALL, 9);
  p.writeStructBegin('args');
  field(1, Type.BOOL, () => p.writeBool(true));
  field(2, Type.BOOL, () => p.writeBool(false));
  field(3, Type.BYTE, () => p.writeByte(-5));
  field(4, Type.I16, () => p.writeI16(-300));
  field(5, Type.I32, () => p.writeI32(-123456));
  field(6, Type.I64, () => p.writeI64(1234567890123));
  field(7, Type.DOUBLE, () => p.writeDouble(3.25));
  field(8, Type.STRING, () => p.writeString('héllo wörld'));
  field(9, Type.STRING, () => p.writeBinary(Buffer.from([0, 1, 2, 255])));
  field(10, Type.UUID, () => p.writeUuid('00112233-4455-6677-8899-aabbccddeeff'));
  field(11, Type.STRUCT, () => inner(1));
  field(12, Type.LIST, () => list(Type.BOOL, [true, false, true], (v) => p.writeBool(v)));
  field(13, Type.LIST, () => list(Type.I32, Array.from({ length: 20 }, (_, i) => i * 1000 - 7), (v) => p.writeI32(v)));
  field(14, Type.SET, () => {
    p.writeSetBegin(Type.STRING, 2);
    p.writeString('a');
    p.writeString('b');
    p.writeSetEnd();
  });
  field(15, Type.MAP, () => {
    p.writeMapBegin(Type.STRING, Type.LIST, 2);
    for (const k of ['x', 'y']) {
      p.writeString(k);
      list(Type.DOUBLE, [1.5, -2.5], (v) => p.writeDouble(v));
    }
    p.writeMapEnd();
  });
  field(16, Type.MAP, () => {
    p.writeMapBegin(Type.I32, Type.STRUCT, 3);
    for (const k of [1, 2, 3]) {
      p.writeI32(k);
      inner(k);
    }
    p.writeMapEnd();
  });
  field(17, Type.MAP, () => {
    p.writeMapBegin(Type.STRING, Type.I64, 0);
    p.writeMapEnd();
  });
  field(18, Type.LIST, () => list(Type.STRUCT, [], () => undefined));
  field(19, Type.LIST, () => list(Type.LIST, [[1, 2], [3]], (v) => list(Type.BYTE, v as number[], (b) => p.writeByte(b))));
  field(300, Type.I64, () => p.writeI64(-1));
  field(2, Type.I16, () => p.writeI16(7));
  field(21, Type.LIST, () => list(Type.UUID, ['00112233-4455-6677-8899-aabbccddeeff'], (v) => p.writeUuid(v)));
  field(22, Type.MAP, () => {
    p.writeMapBegin(Type.BOOL, Type.DOUBLE, 2);
    p.writeBool(true);
    p.writeDouble(1);
    p.writeBool(false);
    p.writeDouble(2);
    p.writeMapEnd();
  });
  p.writeFieldStop();
  p.writeStructEnd();
  p.writeMessageEnd();
  trans.flush();
  return Buffer.concat(chunks);
}
