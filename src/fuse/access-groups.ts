/**
 * The caller of a request as the permission rules see it (a Subject of access-rules.ts): its
 * uid, and its groups. The kernel passes only the primary gid; the supplementary groups are
 * read from /proc/PID/status ("Groups:"), as libfuse's fuse_getgroups does (the process is
 * blocked in its syscall, so it exists). Read only when a group decides, and kept per pid for
 * a second in a bounded cache: a process walking a tree asks many times, and a process whose
 * groups change (setgroups) sees the change within a second.
 */
import { readFileSync } from 'node:fs'
import { LRUCache } from 'lru-cache'
import type { Caller } from './caller.js'
import type { Subject } from './access-rules.js'

/** Processes whose groups are kept; a bound, not a working set (each entry is a few numbers). */
const GROUPS_CACHE_MAX_PIDS = 1024
/** How long a process's groups are trusted, in ms: short, so setgroups(2) is seen soon. */
const GROUPS_CACHE_TTL_MS = 1000

/** The supplementary groups on the "Groups:" line of a /proc/PID/status text; none if absent. */
export function parseGroupsLine(status: string): number[] {
  const line = /^Groups:(.*)$/m.exec(status)?.[1] ?? ''
  return line
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter(n => Number.isInteger(n) && n >= 0)
}

export type GroupsReader = (pid: number) => readonly number[]

/** Reads /proc/PID/status; an unknown or vanished process has no supplementary groups. */
export function readProcGroups(pid: number): readonly number[] {
  try {
    return parseGroupsLine(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return []
  }
}

export class CallerGroups {
  readonly #read: GroupsReader
  readonly #cache: LRUCache<number, readonly number[]>

  constructor(read: GroupsReader = readProcGroups, ttlMs = GROUPS_CACHE_TTL_MS) {
    this.#read = read
    this.#cache = new LRUCache({ max: GROUPS_CACHE_MAX_PIDS, ttl: ttlMs })
  }

  /** The rules' view of `caller`: supplementary groups read at the first group test, if any. */
  subject(caller: Caller): Subject {
    return { uid: caller.uid, inGroup: gid => gid === caller.gid || (caller.pid > 0 && this.groupsOf(caller.pid).includes(gid)) }
  }

  groupsOf(pid: number): readonly number[] {
    let groups = this.#cache.get(pid)
    if (groups === undefined) {
      groups = this.#read(pid)
      this.#cache.set(pid, groups)
    }
    return groups
  }
}
