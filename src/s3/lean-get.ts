/**
 * The hot request of the read path — GetObject — sent without the SDK's middleware
 * stack: SigV4-signed by @smithy/signature-v4 (the SDK's own signer, with the
 * credentials and region the SDK client resolved), sent over connections of its own and
 * read without Node's HTTP stack (wire-get.ts: the body straight into the cache blocks
 * being filled), the response handed back once its head is in. The SDK spends 1.1–2.4 ms
 * of CPU per GET in its middleware (endpoint rules, schema serde, middleware sorting,
 * retry bookkeeping; measured against the synthetic store), a plain HTTP GET 0.3–0.6 ms:
 * for a cold epoch of small files that is the daemon's largest cost per file.
 *
 * Only plain configurations take this path: a custom endpoint with path-style
 * addressing, or AWS's standard partition with a bucket name that is a plain DNS label
 * (virtual-hosted), without FIPS or dual-stack endpoints. Only 200 and 206 answers are
 * returned; anything else (404, 412, redirects, throttling, 5xx, a failure before the
 * headers, an answer without Content-Length) is given up and returned as `undefined`,
 * and the caller sends the same request through the SDK, whose retries and error
 * mapping then apply.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { SignatureV4 } from '@smithy/signature-v4'
import { encodeKeyPath } from './key-path.js'
import { wireGet, type WireResponse } from './wire-get.js'
import type { WirePool } from './wire-pool.js'

/** What the lean path needs to address and sign requests. */
export interface LeanGetConfig {
  readonly bucket: string
  /** The custom endpoint (path-style), or undefined for AWS's regional virtual-hosted endpoint. */
  readonly endpointUrl: string | undefined
  readonly forcePathStyle: boolean
  readonly region: () => Promise<string>
  readonly credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>
  /** Whether the SDK would use a FIPS or dual-stack endpoint for AWS (then the SDK does every GET). */
  readonly specialEndpoint: () => Promise<boolean>
  /** Its own keep-alive connections, read without Node's HTTP stack (a connection not made in time: the SDK's attempt follows). */
  readonly pool: WirePool
}

export interface LeanGetRequest {
  readonly key: string
  /** HTTP Range header value, e.g. `bytes=0-1048575`; undefined: the whole object, with checksum mode on. */
  readonly range: string | undefined
  /** ETag (unquoted) the response must have. */
  readonly ifMatch?: string
  readonly signal: AbortSignal
}

export interface SignedGet {
  readonly protocol: string
  readonly hostname: string
  readonly port: number | undefined
  readonly path: string
  readonly headers: Record<string, string>
}

/** Whether a bucket name may be used as a DNS label in a virtual-hosted AWS host name. */
function dnsLabel(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket) && !bucket.includes('--')
}

/** Regions of AWS's standard partition (host names under amazonaws.com); China, GovCloud and ISO regions are left to the SDK. */
const STANDARD_REGION = /^(us|eu|ap|sa|ca|me|af|il|mx)-(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d$/

export class LeanGet {
  readonly #config: LeanGetConfig
  #signer: SignatureV4 | undefined
  #base: Promise<URL | undefined> | undefined

  private constructor(config: LeanGetConfig) {
    this.#config = config
  }

  /** A lean GET for this configuration, or undefined when it is not a plain case (the SDK then does every GET). */
  static for(config: LeanGetConfig): LeanGet | undefined {
    if (config.endpointUrl !== undefined) {
      const url = new URL(config.endpointUrl)
      const plain = config.forcePathStyle && (url.protocol === 'http:' || url.protocol === 'https:') && url.search === ''
      return plain ? new LeanGet(config) : undefined
    }
    return dnsLabel(config.bucket) && !config.forcePathStyle ? new LeanGet(config) : undefined
  }

  /** Sends the GET; resolves with a 200/206 response, or undefined (response given up) for the SDK to redo. */
  async send(req: LeanGetRequest): Promise<WireResponse | undefined> {
    const signed = await this.sign(req.key, req.range, req.ifMatch)
    if (signed === undefined) return undefined
    const res = await wireGet(this.#config.pool, signed, req.signal)
    if (res === undefined || res.status === 200 || res.status === 206) return res
    res.discard()
    return undefined
  }

  /** The signed GET of `key`, or undefined when the endpoint turned out not to be a plain case. */
  async sign(key: string, range: string | undefined, ifMatch?: string, signingDate?: Date): Promise<SignedGet | undefined> {
    const base = await (this.#base ??= this.#resolveBase())
    if (base === undefined) return undefined
    const custom = this.#config.endpointUrl !== undefined
    const path = custom ? `${base.pathname.replace(/\/$/, '')}/${encodeURIComponent(this.#config.bucket)}/${encodeKeyPath(key)}` : `/${encodeKeyPath(key)}`
    const port = base.port === '' ? undefined : Number(base.port)
    const headers: Record<string, string> = {
      host: base.host,
      'x-amz-content-sha256': EMPTY_SHA256,
      ...(range !== undefined ? { range } : { 'x-amz-checksum-mode': 'ENABLED' }),
      ...(ifMatch !== undefined ? { 'if-match': `"${ifMatch}"` } : {}),
    }
    const request = { protocol: base.protocol, hostname: base.hostname, ...(port !== undefined ? { port } : {}), path, query: {}, headers }
    const signed = await this.signHttpRequest(request, signingDate)
    return { protocol: base.protocol, hostname: base.hostname, port, path, headers: signed.headers }
  }

  /** Signs `req` (SigV4, service s3, the region and credentials of the SDK client); returns its headers with the signature. */
  async signHttpRequest(req: RequestToSign, signingDate?: Date): Promise<{ headers: Record<string, string> }> {
    this.#signer ??= new SignatureV4({
      service: 's3',
      region: await this.#config.region(),
      credentials: this.#config.credentials,
      sha256: NodeSha256,
      uriEscapePath: false,
      applyChecksum: true,
    })
    return this.#signer.sign({ method: 'GET', ...req }, signingDate !== undefined ? { signingDate } : {})
  }

  async #resolveBase(): Promise<URL | undefined> {
    if (this.#config.endpointUrl !== undefined) return new URL(this.#config.endpointUrl)
    const region = await this.#config.region()
    if (!STANDARD_REGION.test(region) || (await this.#config.specialEndpoint())) return undefined
    return new URL(`https://${this.#config.bucket}.s3.${region}.amazonaws.com`)
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView

function bytesOf(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

/** An HTTP request as the signer sees it. */
export interface RequestToSign {
  readonly protocol: string
  readonly hostname: string
  readonly port?: number
  readonly path: string
  readonly query: Record<string, string>
  readonly headers: Record<string, string>
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** SHA-256 (or HMAC-SHA-256 with a secret) over node:crypto, in the shape the signer expects. */
class NodeSha256 {
  readonly #h: Hash | Hmac
  constructor(secret?: SourceData) {
    this.#h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret))
  }

  update(data: SourceData): void {
    this.#h.update(bytesOf(data))
  }

  async digest(): Promise<Uint8Array> {
    return this.#h.digest()
  }
}
