// Runs Debian's python3-thrift (an independent Thrift implementation) to make
// and check THeader bytes. Needs /usr/bin/python3 with python3-thrift.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const PYTHON = '/usr/bin/python3';

/** gen/calculator/py, found from dist/test/... or test/... alike. */
function genPy(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'gen', 'calculator', 'py');
    if (fs.existsSync(path.join(candidate, 'calculator'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('gen/calculator/py not found; run node scripts/gen-thrift.js');
}

export function pythonThriftAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import thrift.protocol.THeaderProtocol'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function runPython(script: string, input?: Buffer): Buffer {
  const out = execFileSync(PYTHON, ['-c', script], {
    input,
    env: { ...process.env, PYTHONPATH: genPy() },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return Buffer.from(out.toString('latin1').trim(), 'hex');
}

export interface PythonHeaderCall {
  method: 'add' | 'echo';
  args: unknown[];
  protocol: 'binary' | 'compact';
  headers?: Record<string, string>;
  /** THeader transform ids to apply (1 = zlib). */
  transforms?: number[];
  seqid?: number;
}

/** The bytes Python's THeader client writes for one call. */
export function pythonHeaderRequest(call: PythonHeaderCall): Buffer {
  const script = `
import sys, json
from thrift.transport import TTransport
from thrift.protocol import THeaderProtocol
from thrift.transport.THeaderTransport import THeaderClientType, THeaderSubprotocolID
from calculator import Calculator
call = json.loads(${JSON.stringify(JSON.stringify(call))})
buf = TTransport.TMemoryBuffer()
pid = THeaderSubprotocolID.BINARY if call['protocol'] == 'binary' else THeaderSubprotocolID.COMPACT
proto = THeaderProtocol.THeaderProtocol(buf, [THeaderClientType.HEADERS], pid)
for k, v in (call.get('headers') or {}).items():
    proto.set_header(k.encode(), v.encode())
for t in call.get('transforms') or []:
    proto.add_transform(t)
client = Calculator.Client(proto)
client._seqid = call.get('seqid') or 0
getattr(client, 'send_' + call['method'])(*call['args'])
sys.stdout.write(buf.getvalue().hex())
`;
  return runPython(script);
}

export interface PythonParsed {
  fname: string;
  mtype: number;
  seqid: number;
  args: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Python's THeaderProtocol (accepting every client type) reads a call: header, args, headers. */
export function pythonParseRequest(bytes: Buffer): PythonParsed {
  const script = `
import sys, json
from thrift.transport import TTransport
from thrift.protocol import THeaderProtocol
from calculator import Calculator
data = bytes.fromhex(sys.stdin.read())
proto = THeaderProtocol.THeaderProtocol(TTransport.TMemoryBuffer(data), [0, 1, 2, 3, 4])
fname, mtype, seqid = proto.readMessageBegin()
args = getattr(Calculator, fname.split(':')[-1] + '_args')()
args.read(proto)
proto.readMessageEnd()
headers = {k.decode(): v.decode() for k, v in proto.get_headers().items()}
out = {'fname': fname, 'mtype': mtype, 'seqid': seqid, 'args': args.__dict__, 'headers': headers}
sys.stdout.write(json.dumps(out).encode().hex())
`;
  return JSON.parse(runPython(script, Buffer.from(bytes.toString('hex'))).toString('utf8')) as PythonParsed;
}

/** Python's THeader client (THeader only, as a strict client is) reads a reply: the result, or the exception's message. */
export function pythonReadReply(bytes: Buffer, method: 'add' | 'echo'): { result?: unknown; error?: string } {
  const script = `
import sys, json
from thrift.transport import TTransport
from thrift.protocol import THeaderProtocol
from thrift.transport.THeaderTransport import THeaderClientType
from thrift.Thrift import TApplicationException
from calculator import Calculator
data = bytes.fromhex(sys.stdin.read())
proto = THeaderProtocol.THeaderProtocol(TTransport.TMemoryBuffer(data), [THeaderClientType.HEADERS])
client = Calculator.Client(proto)
try:
    out = {'result': getattr(client, 'recv_' + ${JSON.stringify(method)})()}
except TApplicationException as e:
    out = {'error': e.message}
except Exception as e:
    out = {'error': 'unreadable: %s' % e}
sys.stdout.write(json.dumps(out).encode().hex())
`;
  return JSON.parse(runPython(script, Buffer.from(bytes.toString('hex'))).toString('utf8')) as { result?: unknown; error?: string };
}
