import { rollingRestartOn } from './haproxy.js'

rollingRestartOn('deno')
