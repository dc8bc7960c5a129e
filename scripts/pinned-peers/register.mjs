// `node --import ./register.mjs`, with LASTCALL_PINNED_PEERS set by project.mjs: the pinned versions in place of the workspace's (see hooks.mjs).
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url, { data: JSON.parse(process.env.LASTCALL_PINNED_PEERS ?? '{"from":"file:///","names":[]}') })
