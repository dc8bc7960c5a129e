import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseAllDocuments } from 'yaml'
import type { AppSettings } from './budget.js'
import { checkCompose, isComposeFile } from './compose.js'
import { checkDockerfile } from './dockerfile.js'
import { FindingList, type ConfigFinding, type ConfigKind, type StopTiming } from './findings.js'
import { checkKubernetes, isKubernetesObject } from './kubernetes.js'
import { checkPm2, pm2Apps } from './pm2.js'
import { checkSystemd } from './systemd.js'

export interface ConfigCheckOptions extends AppSettings {
  /** Files, or directories searched for Dockerfiles, `*.service`, `ecosystem.*` and Kubernetes/Compose/PM2 YAML. */
  paths: readonly string[]
}

export interface ConfigCheckResult {
  /** No errors (warnings allowed). */
  ok: boolean
  /** Every file read and what it was read as (`unknown` ones only when named directly). */
  files: Array<{ file: string; kind: ConfigKind | 'unknown' }>
  /** One entry per workload: its grace period against lastcall's timing. */
  timings: StopTiming[]
  errors: ConfigFinding[]
  warnings: ConfigFinding[]
}

const YAML = new Set(['.yaml', '.yml'])
const JS = new Set(['.js', '.cjs', '.mjs'])

/** Whether a file found under a directory is worth reading. Files named directly are always read. */
function interesting(name: string): boolean {
  return /^(Dockerfile|Containerfile)(\..+)?$/i.test(name) || /\.dockerfile$/i.test(name) || name.endsWith('.service') || /^ecosystem(\..+)?\.(c|m)?js(on)?$/.test(name) || YAML.has(extname(name))
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) walk(path, out)
    else if (entry.isFile() && interesting(entry.name)) out.push(path)
  }
}

/** Thrown for a path that does not exist or cannot be read as what it looks like. */
export class ConfigFileError extends Error {
  /** Always `'LASTCALL_CONFIG_FILE'`. */
  readonly code = 'LASTCALL_CONFIG_FILE'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConfigFileError'
  }
}

/**
 * Reads deployment files (Kubernetes manifests, Compose files, Dockerfiles,
 * systemd units, PM2 ecosystem files) and reports every stop timing that
 * cannot work with lastcall's options as this app resolves them. PM2's
 * `.js` ecosystem files are loaded with `import()`, as PM2 itself does.
 */
export async function checkConfig(options: ConfigCheckOptions): Promise<ConfigCheckResult> {
  const files: string[] = []
  const named = new Set<string>()
  for (const path of options.paths) {
    let stat
    try {
      stat = statSync(path)
    } catch (error) {
      throw new ConfigFileError(`${path}: no such file or directory`, { cause: error })
    }
    if (stat.isDirectory()) walk(path, files)
    else {
      files.push(path)
      named.add(path)
    }
  }
  const result: ConfigCheckResult = { ok: true, files: [], timings: [], errors: [], warnings: [] }
  const app: AppSettings = { options: options.options, envOptions: options.envOptions }
  for (const file of files) {
    const findings = new FindingList(file)
    const name = basename(file)
    const ext = extname(file)
    let kind: ConfigKind | 'unknown' = 'unknown'
    let timings: StopTiming[] = []
    if (/^(Dockerfile|Containerfile)(\..+)?$/i.test(name) || /\.dockerfile$/i.test(name)) {
      kind = 'dockerfile'
      timings = checkDockerfile(readFileSync(file, 'utf8'), file, app, findings)
    } else if (ext === '.service') {
      kind = 'systemd'
      timings = checkSystemd(readFileSync(file, 'utf8'), file, app, findings)
    } else if (JS.has(ext)) {
      let config: unknown
      try {
        const mod = (await import(pathToFileURL(file).href)) as { default?: unknown }
        config = mod.default ?? mod
      } catch (error) {
        throw new ConfigFileError(`${file}: cannot load it as a PM2 ecosystem file: ${(error as Error).message}`, { cause: error })
      }
      const apps = pm2Apps(config)
      if (apps) {
        kind = 'pm2'
        timings = checkPm2(apps, file, app, findings)
      }
    } else if (YAML.has(ext) || ext === '.json') {
      const text = readFileSync(file, 'utf8')
      const docs = parseAllDocuments(text)
      const parsed: unknown[] = []
      for (const doc of Array.isArray(docs) ? docs : [docs]) {
        if (doc.errors.length > 0) {
          if (!named.has(file)) break
          throw new ConfigFileError(`${file}: not valid YAML: ${doc.errors[0]!.message}`)
        }
        parsed.push(doc.toJS())
      }
      const apps = parsed.length === 1 ? pm2Apps(parsed[0]) : undefined
      if (parsed.some(isKubernetesObject)) {
        kind = 'kubernetes'
        timings = checkKubernetes(parsed, app, findings, [dirname(file)])
      } else if (parsed.length === 1 && isComposeFile(parsed[0])) {
        kind = 'compose'
        timings = checkCompose(parsed[0] as Record<string, unknown>, file, app, findings)
      } else if (apps) {
        kind = 'pm2'
        timings = checkPm2(apps, file, app, findings)
      }
    }
    if (kind === 'unknown' && !named.has(file)) continue
    if (kind === 'unknown') findings.error('file', 'unknown-file', 'Not a file this check reads: no Kubernetes workload, Compose services, PM2 apps, Dockerfile name or .service unit.', 'Pass Kubernetes manifests, compose.yaml, a Dockerfile, a systemd .service unit or a PM2 ecosystem file.')
    result.files.push({ file, kind })
    result.timings.push(...timings)
    for (const f of findings.items) (f.severity === 'error' ? result.errors : result.warnings).push(f)
  }
  result.ok = result.errors.length === 0
  return result
}
