import { pinnedPeersProject } from '../../scripts/pinned-peers/project.mjs'
import project from './vitest.config.js'

// @lastcall/metrics's tests again, on the lowest prom-client and @opentelemetry/api its peer ranges allow, with the
// newest OpenTelemetry SDK that accepts that API (pinned in test/floor).
export default pinnedPeersProject(project, {
  name: 'metrics-floor',
  dir: new URL('./test/floor/', import.meta.url),
  names: ['prom-client', '@opentelemetry/api', '@opentelemetry/sdk-metrics', '@opentelemetry/sdk-trace'],
})
