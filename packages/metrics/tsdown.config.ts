import { defineConfig } from 'tsdown'

export default defineConfig({ entry: ['src/index.ts', 'src/prometheus.ts', 'src/opentelemetry.ts'], format: ['esm', 'cjs'], dts: true, platform: 'node', target: 'node20' })
