import { defineConfig } from 'tsdown'

export default defineConfig({
  entry: ['src/index.ts', 'src/pg.ts', 'src/redis.ts', 'src/bullmq.ts', 'src/amqplib.ts', 'src/pino.ts', 'src/kafkajs.ts', 'src/sqs.ts', 'src/memcached.ts', 'src/etcd.ts', 'src/discovery.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  platform: 'node',
  target: 'node20',
})
