// Prints `tests: N passed, N failed[, N skipped]` from one or more vitest JSON
// reports (CI runs the suite once per Node major and adds them up), after one
// line per report. Exits non-zero when a report is missing or no test ran at
// all, so CI never reads an empty run as green.
//   node scripts/test-summary.mjs <report.json>...
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

const files = process.argv.slice(2)
if (files.length === 0) {
  console.error('usage: node scripts/test-summary.mjs <vitest-report.json>...')
  process.exit(2)
}
let passed = 0
let failed = 0
let skipped = 0
let unreadable = 0
for (const file of files) {
  let report
  try {
    report = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    console.error(`test-summary: cannot read ${file}: ${error.message}`)
    unreadable++
    continue
  }
  const counts = { passed: 0, failed: 0, skipped: 0 }
  for (const suite of report.testResults ?? []) {
    if ((suite.assertionResults ?? []).length === 0 && suite.status === 'failed') counts.failed++ // a file that failed to load
    for (const test of suite.assertionResults ?? []) {
      if (test.status === 'passed') counts.passed++
      else if (test.status === 'failed') counts.failed++
      else counts.skipped++ // skipped, pending, todo
    }
  }
  // Not in the `N passed, N failed` shape: only the last line is the total.
  console.log(`${basename(file, '.json')}: passed ${counts.passed} / failed ${counts.failed} / skipped ${counts.skipped}`)
  passed += counts.passed
  failed += counts.failed
  skipped += counts.skipped
}
// A report that cannot be read counts as one failure: the run behind it did not finish.
failed += unreadable
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(passed + failed === 0 || unreadable > 0 ? 1 : 0)
