import { readFileSync } from 'node:fs'
import { basename, isAbsolute, join } from 'node:path'
import { parse as parseShell } from 'shell-quote'

/** How the platform starts the app: an argument vector (exec form) or a string run by `/bin/sh -c` (shell form). */
export type StartCommand = { argv: readonly string[] } | { shell: string }

/** What stands between the platform's stop signal and node. */
export interface StartVerdict {
  /** `ok`: node gets the signal. The others: it does not, and why. */
  kind: 'ok' | 'shell' | 'package-manager' | 'wrapper-no-exec' | 'wrapper-unknown'
  detail: string
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh'])
const PACKAGE_MANAGERS = new Set(['npm', 'yarn', 'pnpm', 'npx', 'bun'])
/** Inits that forward signals to their child: what follows them is what matters. */
const INITS = new Set(['tini', 'tini-static', 'docker-init', 'dumb-init', 'catatonit'])

/** Splits a command line the way Compose and systemd do (shell-style quoting, no shell). Variables stay as written. */
export function splitWords(line: string): string[] {
  return parseShell(line, (name) => `$${name}`).map((part) => (typeof part === 'string' ? part : 'op' in part ? part.op : String(part)))
}

/**
 * Whether the process the platform signals passes the signal on to node.
 * Measured on Debian 12: `sh -c 'node app.js'` (dash 0.5.12) keeps the shell
 * as the parent and does not forward SIGTERM; `npm start` (npm 11) exits on
 * SIGTERM and leaves node running without the signal. As PID 1 in a
 * container, the shell ignores SIGTERM altogether (no handler, so the kernel
 * drops it) and the runtime SIGKILLs everything after its timeout.
 * `scriptDirs` are where a wrapper script named by a relative path is looked for.
 */
export function startVerdict(command: StartCommand, scriptDirs: readonly string[]): StartVerdict {
  if ('shell' in command) {
    if (/^\s*exec\s/.test(command.shell)) return startVerdict({ argv: splitWords(command.shell.replace(/^\s*exec\s+/, '')) }, scriptDirs)
    return { kind: 'shell', detail: `the shell form runs /bin/sh -c '${command.shell}'` }
  }
  let argv = [...command.argv]
  while (argv.length > 0 && INITS.has(basename(argv[0]!))) {
    argv = argv.slice(1)
    while (argv[0]?.startsWith('-')) {
      const flag = argv[0]
      argv = argv.slice(1)
      if (flag === '--') break
    }
  }
  if (argv.length === 0) return { kind: 'ok', detail: 'no command' }
  const program = basename(argv[0]!)
  if (SHELLS.has(program)) {
    const c = argv.indexOf('-c')
    if (c >= 0 && argv[c + 1] !== undefined) {
      const script = argv[c + 1]!
      if (/^\s*exec\s/.test(script)) return startVerdict({ shell: script }, scriptDirs)
      return { kind: 'shell', detail: `${program} -c '${script}' keeps the shell as the parent of node` }
    }
    if (argv[1] !== undefined) return wrapper(argv[1], scriptDirs, `${program} ${argv[1]}`)
    return { kind: 'shell', detail: `${program} is the main process` }
  }
  if (PACKAGE_MANAGERS.has(program)) return { kind: 'package-manager', detail: `${argv.join(' ')} runs node under ${program} and a shell` }
  if (program.endsWith('.sh')) return wrapper(argv[0]!, scriptDirs, argv[0]!)
  return { kind: 'ok', detail: argv.join(' ') }
}

/** A wrapper script passes signals on only when it ends by exec-ing the app. */
function wrapper(path: string, dirs: readonly string[], shown: string): StartVerdict {
  const candidates = isAbsolute(path) ? [path, ...dirs.map((d) => join(d, basename(path)))] : dirs.map((d) => join(d, path))
  for (const candidate of candidates) {
    let text: string
    try {
      text = readFileSync(candidate, 'utf8')
    } catch {
      continue
    }
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    if (lines.some((l) => /^exec\s+\S/.test(l))) return { kind: 'ok', detail: `${shown} ends with exec` }
    return { kind: 'wrapper-no-exec', detail: `${shown} (${candidate}) starts the app without exec, so the shell stays its parent` }
  }
  return { kind: 'wrapper-unknown', detail: `${shown} is a shell script this check cannot read` }
}
