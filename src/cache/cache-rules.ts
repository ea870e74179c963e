/**
 * The operator's standing orders for the cache, persisted in `rules.json` under
 * the cache directory so they survive remounts: pinned paths (`s3cachefs pin`),
 * and per-path time-to-live of cached data (`s3cachefs ttl`).
 *
 * A rule names a key (a file) or a key prefix (a directory, ending in `/`; the
 * root is '') within one namespace (bucket, prefix and endpoint of a mount), so
 * a cache directory reused by another source never applies the wrong rules.
 * Rules are few; matching is a scan over them.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const RULES_FILE = 'rules.json'

export interface RuleTarget {
  /** Namespace id (see namespaceId). */
  readonly ns: string
  /** Key of a file, or key prefix of a directory ('' for the mount's root). */
  readonly key: string
  readonly dir: boolean
  /** The mount-relative path, for display. */
  readonly path: string
}

export interface PinRule extends RuleTarget {
  /** Bytes of the objects under the path when it was pinned: what the pin may hold. */
  readonly bytes: number
  readonly files: number
}

export interface TtlRule extends RuleTarget {
  /** Cached data under the path is dropped this long after it was fetched; null never. */
  readonly ttlMs: number | null
}

interface RulesFile {
  version: 1
  pins: PinRule[]
  ttls: TtlRule[]
}

/** Short stable id of a mount's namespace, stored with rules and catalog entries. */
export function namespaceId(namespace: string): string {
  return createHash('sha256').update(namespace).digest('hex').slice(0, 12)
}

export function matches(rule: RuleTarget, ns: string, key: string): boolean {
  return rule.ns === ns && (rule.dir ? key.startsWith(rule.key) : key === rule.key)
}

/** Whether `outer` covers everything `inner` names. */
export function covers(outer: RuleTarget, inner: RuleTarget): boolean {
  return outer.ns === inner.ns && (outer.dir ? inner.key.startsWith(outer.key) : !inner.dir && inner.key === outer.key)
}

export class CacheRules {
  readonly #path: string
  #pins: PinRule[]
  #ttls: TtlRule[]
  #version = 0

  private constructor(path: string, file: RulesFile) {
    this.#path = path
    this.#pins = file.pins
    this.#ttls = file.ttls
  }

  /** Reads the rules of `cacheDir`; a missing or unreadable file means no rules. */
  static async load(cacheDir: string): Promise<CacheRules> {
    const path = join(cacheDir, RULES_FILE)
    let file: RulesFile = { version: 1, pins: [], ttls: [] }
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<RulesFile>
      file = { version: 1, pins: parsed.pins ?? [], ttls: parsed.ttls ?? [] }
    } catch {
      // Absent on a fresh cache; a torn file is impossible (written by rename) but would mean no rules.
    }
    return new CacheRules(path, file)
  }

  /** Changes whenever a rule changes, so callers can re-evaluate what they derived. */
  get version(): number {
    return this.#version
  }

  get pins(): readonly PinRule[] {
    return this.#pins
  }

  get ttls(): readonly TtlRule[] {
    return this.#ttls
  }

  isPinned(ns: string, key: string): boolean {
    return this.#pins.some(p => matches(p, ns, key))
  }

  /** The most specific TTL rule's value for a key; undefined when no rule matches. */
  ttlFor(ns: string, key: string): number | null | undefined {
    let best: TtlRule | undefined
    for (const r of this.#ttls) if (matches(r, ns, key) && (best === undefined || r.key.length > best.key.length)) best = r
    return best?.ttlMs
  }

  /** Adds a pin; pins it covers are replaced by it. */
  async addPin(pin: PinRule): Promise<void> {
    this.#pins = [...this.#pins.filter(p => !covers(pin, p)), pin]
    await this.#changed()
  }

  /** Removes the pins at or below `target`; returns them. */
  async removePins(target: RuleTarget): Promise<PinRule[]> {
    const removed = this.#pins.filter(p => covers(target, p))
    this.#pins = this.#pins.filter(p => !covers(target, p))
    if (removed.length > 0) await this.#changed()
    return removed
  }

  /** Sets the TTL of `target` (replacing its previous rule). */
  async setTtl(rule: TtlRule): Promise<void> {
    this.#ttls = [...this.#ttls.filter(r => !(r.ns === rule.ns && r.key === rule.key && r.dir === rule.dir)), rule]
    await this.#changed()
  }

  get hasTtls(): boolean {
    return this.#ttls.some(r => r.ttlMs !== null)
  }

  async #changed(): Promise<void> {
    this.#version++
    const tmp = `${this.#path}.${randomBytes(4).toString('hex')}.tmp`
    const file: RulesFile = { version: 1, pins: this.#pins, ttls: this.#ttls }
    await writeFile(tmp, JSON.stringify(file, null, 1) + '\n')
    await rename(tmp, this.#path)
  }
}
