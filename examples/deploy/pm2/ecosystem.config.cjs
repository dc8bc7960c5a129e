/* global module, __dirname */
// pm2 start ecosystem.config.cjs
// PM2 sends SIGINT on reload and stop, and SIGKILL kill_timeout later (1.6 s
// by default). lastcall recognises PM2: in cluster mode it takes no readiness
// delay (PM2 stops handing a worker connections once it stops listening), and
// with the default kill_timeout it fits its whole shutdown in 600 ms, enough
// for fast requests (measured: no request lost; docs/platforms.md). A longer
// kill_timeout gives slow requests and cleanup hooks their time (timeoutMs 25 s).
// lastcall answers `wait_ready` with process.send('ready') once the server is
// ready, and starts its shutdown on the 'shutdown' message
// (shutdown_with_message), which PM2 also uses on Windows, where there are no signals.
const KILL_TIMEOUT_MS = 30_000

module.exports = {
  apps: [
    {
      name: 'lastcall-example',
      script: './server.mjs',
      cwd: __dirname + '/..',
      instances: 2,
      exec_mode: 'cluster',
      // Wait for lastcall's 'ready' before routing to a new instance (reloads).
      wait_ready: true,
      // How long to wait for 'ready' before PM2 gives up on the instance.
      listen_timeout: 10_000,
      // Time between the stop signal (or message) and SIGKILL; lastcall reads it from the environment too.
      kill_timeout: KILL_TIMEOUT_MS,
      shutdown_with_message: true,
      env: {
        NODE_ENV: 'production',
        PORT: '3000',
        LASTCALL_GRACE_PERIOD_MS: String(KILL_TIMEOUT_MS),
      },
    },
  ],
}
