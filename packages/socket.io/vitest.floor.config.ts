import { pinnedPeersProject } from '../../scripts/pinned-peers/project.mjs'
import project from './vitest.config.js'

// @lastcall/socket.io's tests again, on the lowest socket.io its peer range allows (pinned in test/floor; the client stays the newest).
export default pinnedPeersProject(project, { name: 'socket.io-floor', dir: new URL('./test/floor/', import.meta.url), names: ['socket.io'] })
