/**
 * The local S3 server's fault switch: a FIFO of armed faults, each applying to
 * the next `count` requests it matches. Tests of the daemon arm faults over
 * HTTP (POST /__s3cachefs/faults) to make S3 throttle, fail, stall or drop the
 * connection at a chosen moment; the control middleware asks take() on every
 * S3 request and carries the fault out. This module only validates and matches.
 * The fault-injecting proxy (fault-proxy.ts) uses the same matching, with faults
 * of its own that only a proxy can carry out (a body cut short, another version).
 */
import { REQUEST_KINDS, type S3RequestInfo } from './s3-request.js'

/** JSON body of POST /__s3cachefs/faults. At least one of status, reset, delayMs. */
export interface FaultSpec {
  /** Answer with this HTTP status (400–599) and an S3 XML error body instead of serving the request. */
  status?: number
  /** S3 error code in that body; default follows the status (503 → SlowDown, 500 → InternalError, …). */
  code?: string
  /** Message in that body; default names the fault as injected. */
  message?: string
  /** 'connection': destroy the socket without answering (the client sees a reset / socket hang up). */
  reset?: 'connection'
  /** Wait this many milliseconds first; with neither status nor reset the request is then served normally. */
  delayMs?: number
  /** How many matching requests the fault applies to. Default 1. */
  count?: number
  /**
   * Which requests: an HTTP method ('GET', 'HEAD', 'PUT', 'POST', 'DELETE') or a request kind
   * ('getObject', 'rangedGet', 'headObject', 'list', 'putObject', 'multipart', 'copy', 'delete', 'other').
   * Default: every S3 request.
   */
  match?: string
  /** Only requests for object keys starting with this (bucket-level requests never match). */
  keyPrefix?: string
  /** Applies to each matching request with this probability (0 < p ≤ 1, default 1); a request spared does not use up the count. */
  probability?: number
}

export class FaultSpecError extends Error {
  readonly code = 'FAULT_SPEC_INVALID'
}

const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE'])
const MATCHES = new Set<string>([...METHODS, ...REQUEST_KINDS])
const MAX_DELAY_MS = 10 * 60 * 1000 // longer than any client timeout we test; beyond it is a typo

function optional<T>(value: unknown, field: string, check: (v: unknown) => v is T, rule: string): T | undefined {
  if (value === undefined) return undefined
  if (!check(value)) throw new FaultSpecError(`fault ${field}: ${rule}`)
  return value
}

const isString = (v: unknown): v is string => typeof v === 'string'
const isProbability = (v: unknown): v is number => typeof v === 'number' && v > 0 && v <= 1
const isMatch = (v: unknown): v is string => isString(v) && MATCHES.has(v)
const isInt =
  (lo: number, hi: number) =>
  (v: unknown): v is number =>
    typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi

/** Checks an untrusted JSON value and returns a clean spec; throws FaultSpecError naming the field. */
export function parseFaultSpec(input: unknown): FaultSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultSpecError('fault: expected a JSON object')
  }
  const raw = input as Record<string, unknown>
  const known = new Set(['status', 'code', 'message', 'reset', 'delayMs', 'count', 'match', 'keyPrefix', 'probability'])
  for (const name of Object.keys(raw)) {
    if (!known.has(name)) throw new FaultSpecError(`fault ${name}: unknown field`)
  }
  const spec: FaultSpec = {
    status: optional(raw.status, 'status', isInt(400, 599), 'an integer from 400 to 599'),
    code: optional(raw.code, 'code', isString, 'a string'),
    message: optional(raw.message, 'message', isString, 'a string'),
    reset: optional(raw.reset, 'reset', (v): v is 'connection' => v === 'connection', "must be 'connection'"),
    delayMs: optional(raw.delayMs, 'delayMs', isInt(0, MAX_DELAY_MS), `an integer from 0 to ${MAX_DELAY_MS}`),
    count: optional(raw.count, 'count', isInt(1, Number.MAX_SAFE_INTEGER), 'a positive integer'),
    match: optional(raw.match, 'match', isMatch, `one of ${[...MATCHES].join(', ')}`),
    keyPrefix: optional(raw.keyPrefix, 'keyPrefix', isString, 'a string'),
    probability: optional(raw.probability, 'probability', isProbability, 'a number above 0 and at most 1'),
  }
  if (spec.status === undefined && spec.reset === undefined && spec.delayMs === undefined) {
    throw new FaultSpecError('fault: needs at least one of status, reset, delayMs')
  }
  if (spec.status !== undefined && spec.reset !== undefined) {
    throw new FaultSpecError('fault: status and reset exclude each other')
  }
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as FaultSpec
}

function matches(spec: FaultSpec, request: S3RequestInfo): boolean {
  if (spec.match !== undefined && spec.match !== request.method && spec.match !== request.kind) return false
  if (spec.keyPrefix !== undefined) {
    return request.key !== undefined && request.key.startsWith(spec.keyPrefix)
  }
  return true
}

interface ArmedFault<S extends FaultSpec> {
  spec: S
  remaining: number
}

/** Armed faults of spec type S (the server's FaultSpec, or the proxy's richer one). */
export class FaultInjector<S extends FaultSpec = FaultSpec> {
  // INVARIANT: every entry has remaining >= 1; spent entries are removed at once.
  #armed: Array<ArmedFault<S>> = []
  readonly #random: () => number

  /** `random` decides probabilistic faults (a seeded generator makes a run repeatable). */
  constructor(random: () => number = Math.random) {
    this.#random = random
  }

  arm(spec: S): void {
    this.#armed.push({ spec, remaining: spec.count ?? 1 })
  }

  clear(): void {
    this.#armed = []
  }

  /** Armed faults with what is left of their count, oldest first. */
  list(): Array<S & { remaining: number }> {
    return this.#armed.map(({ spec, remaining }) => ({ ...spec, remaining }))
  }

  /** The oldest armed fault matching this request, consuming one of its count. */
  take(request: S3RequestInfo): S | undefined {
    const index = this.#armed.findIndex(
      armed => matches(armed.spec, request) && (armed.spec.probability === undefined || this.#random() < armed.spec.probability),
    )
    const armed = this.#armed[index]
    if (armed === undefined) return undefined
    armed.remaining -= 1
    if (armed.remaining === 0) this.#armed.splice(index, 1)
    return armed.spec
  }
}
