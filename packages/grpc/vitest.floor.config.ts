import { pinnedPeersProject } from '../../scripts/pinned-peers/project.mjs'
import project from './vitest.config.js'

// @lastcall/grpc's tests again, on the lowest @grpc/grpc-js its peer range allows (pinned in test/floor).
export default pinnedPeersProject(project, { name: 'grpc-floor', dir: new URL('./test/floor/', import.meta.url), names: ['@grpc/grpc-js'] })
