import { pinnedPeersProject } from '../../scripts/pinned-peers/project.mjs'
import project from './vitest.config.js'

// @lastcall/resources's tests again, on the lowest version of each client its peer ranges allow (pinned in test/floor).
// Like the resources project, one file at a time: vitest runs such projects' files last, one after another, never
// beside another project's (redis.test.ts pauses the whole Redis server, which the BullMQ tests need).
export default pinnedPeersProject(project, {
  name: 'resources-floor',
  dir: new URL('./test/floor/', import.meta.url),
  names: ['@aws-sdk/client-sqs', 'amqplib', 'bullmq', 'etcd3', 'ioredis', 'kafkajs', 'memjs', 'pg', 'pino', 'redis', 'sqs-consumer'],
})
