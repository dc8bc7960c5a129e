import { rollingRestartOn } from './haproxy.js'

rollingRestartOn('bun')
