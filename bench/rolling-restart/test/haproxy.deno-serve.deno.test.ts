import { rollingRestartOn } from './haproxy.js'

rollingRestartOn('deno', 'lastcall-deno-serve')
