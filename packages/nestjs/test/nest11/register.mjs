// `node --import ./register.mjs`: Nest 11 in place of the workspace's Nest 12 (see hooks.mjs).
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url)
