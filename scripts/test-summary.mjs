// Prints `tests: N passed, N failed[, N skipped]` from vitest's JSON report.
// Exits non-zero when the report is missing or ran no test, so CI never reads
// an empty run as green.
import { readFileSync } from 'node:fs'

const file = process.argv[2]
let report
try {
  report = JSON.parse(readFileSync(file, 'utf8'))
} catch (error) {
  console.error(`test-summary: cannot read ${file}: ${error.message}`)
  process.exit(1)
}
let passed = 0
let failed = 0
let skipped = 0
for (const suite of report.testResults ?? []) {
  if ((suite.assertionResults ?? []).length === 0 && suite.status === 'failed') failed++ // a file that failed to load
  for (const test of suite.assertionResults ?? []) {
    if (test.status === 'passed') passed++
    else if (test.status === 'failed') failed++
    else skipped++ // skipped, pending, todo
  }
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(passed + failed === 0 ? 1 : 0)
