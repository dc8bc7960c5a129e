// The demo's timeline as a chart: reads what `examples/demo/demo.mjs --timeline`
// wrote and draws it with the rolling-restart chart's SVG code.
//
//   node examples/demo/demo.mjs --compare --timeline docs/bench/demo-timeline.json
//   node bench/demo-timeline.mjs docs/bench/demo-timeline.json docs/bench/demo-timeline.svg
import { readFileSync, writeFileSync } from 'node:fs'
import { renderShutdownTimeline } from './rolling-restart/chart.mjs'

const [input, output] = process.argv.slice(2)
if (!input || !output) {
  console.error('usage: node bench/demo-timeline.mjs <timeline.json> <chart.svg>')
  process.exit(2)
}
writeFileSync(output, renderShutdownTimeline(JSON.parse(readFileSync(input, 'utf8'))))
console.log(`${output} written`)
