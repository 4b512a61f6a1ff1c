// `meta-mesh validate` judges regexes as RE2 does: the issue's (a+)+$ is
// valid RE2 and passes; a pattern above the program-size limit fails with
// the reason unless --regex-max-program-size raises the limit.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CALC, SERVICE, router } from '../config/manifests';

const CLI = path.resolve(__dirname, '../../bin/meta-mesh.js');

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

describe('meta-mesh validate and RE2', function () {
  this.timeout(20_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-re2-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (regex: string) => {
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(file, `${SERVICE}---\n${router(`    - match:\n        attributes:\n          user: {regex: "${regex}"}\n      route:\n        - destination: {host: ${CALC}}\n`)}`);
    return file;
  };

  it('accepts (a+)+$, which RE2 compiles and matches in linear time', async () => {
    const r = await run(['validate', write('(a+)+$')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok: /);
  });

  it('refuses a pattern above max_program_size, and accepts it with a raised --regex-max-program-size', async () => {
    const file = write('[a-z]{1,60}');
    const [refused, raised, bad] = await Promise.all([
      run(['validate', file]),
      run(['validate', file, '--regex-max-program-size', '500']),
      run(['validate', file, '--regex-max-program-size', 'lots']),
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /spec\.routes\[0\]\.match\.attributes\.user\.regex: regex '\[a-z\]\{1,60\}' compiles to an RE2 program of size \d+, above the limit of 100/);
    assert.equal(raised.code, 0, raised.stderr);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--regex-max-program-size must be a whole number above 0/);
  });
});
