// A mocha reporter that prints the spec output and writes JSON stats to the file named by --reporter-option output=...
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');

class DualReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const output = options.reporterOptions && options.reporterOptions.output;
    const failures = [];
    runner.on('fail', (test, err) => failures.push({ title: test.fullTitle(), message: String(err && err.message) }));
    runner.once('end', () => {
      if (output) fs.writeFileSync(output, JSON.stringify({ stats: this.stats, failures }));
    });
  }
}
module.exports = DualReporter;
