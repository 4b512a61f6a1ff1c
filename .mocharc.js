// Spec output for people; when MOCHA_REPORT names a file (CI), a JSON report is
// written there too so .ci/run can print the totals.
'use strict';
const report = process.env.MOCHA_REPORT;
module.exports = {
  spec: ['dist/test/**/*.test.js'],
  timeout: 30000,
  exit: true,
  reporter: report ? 'test/support/dual-reporter.js' : 'spec',
  'reporter-option': report ? [`output=${report}`] : [],
};
