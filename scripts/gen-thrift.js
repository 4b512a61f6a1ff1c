#!/usr/bin/env node
// Generates Node (es6 + .d.ts) and Python code for the project's Thrift IDLs into gen/,
// and copies gen/ into dist/gen/ so compiled tests and examples find it at the
// same relative path as the TypeScript sources do.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const idls = [{ name: 'calculator', file: 'examples/thrift-canary/calculator.thrift' }];

function which(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

// gen/ is committed, so a machine without the compiler still builds and runs the demo;
// with the compiler, the code is regenerated from the IDL.
const haveCompiler = which('thrift');
const haveCommitted = idls.every((idl) => fs.existsSync(path.join(root, 'gen', idl.name, 'js', 'Calculator.js')));
if (!haveCompiler && !haveCommitted) {
  console.error('gen-thrift: the `thrift` compiler is missing and gen/ is absent. Install it with: apt-get install -y thrift-compiler');
  process.exit(1);
}

for (const idl of haveCompiler ? idls : []) {
  const out = path.join(root, 'gen', idl.name);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'js'), { recursive: true });
  fs.mkdirSync(path.join(out, 'py'), { recursive: true });
  const src = path.join(root, idl.file);
  execFileSync('thrift', ['--gen', 'js:node,es6,ts', '-out', path.join(out, 'js'), src], { stdio: 'inherit' });
  // Classic (non-es6) output: callback-style clients, as older projects generate them.
  fs.mkdirSync(path.join(out, 'js-classic'), { recursive: true });
  execFileSync('thrift', ['--gen', 'js:node', '-out', path.join(out, 'js-classic'), src], { stdio: 'inherit' });
  execFileSync('thrift', ['--gen', 'py', '-out', path.join(out, 'py'), src], { stdio: 'inherit' });
}

const dist = path.join(root, 'dist', 'gen');
fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(path.dirname(dist), { recursive: true });
fs.cpSync(path.join(root, 'gen'), dist, { recursive: true });
