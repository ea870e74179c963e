// Real, decodable JPEGs of any chosen size. A few dozen small base images are
// encoded once with jpeg-js; each dataset file is one base image with COM
// (comment) segments of seeded random bytes inserted after the JFIF header
// until the file has its target size. Decoders skip COM segments by length,
// so every file decodes, every file's bytes are unique (no dedup or
// compression can shortcut the reads) and generation costs no per-file encode.
import jpeg from 'jpeg-js';
import { Prng, seededBytes } from './prng.js';

/** A COM segment's 2-byte length field counts itself: 65,535 - 2 bytes of payload. */
export const MAX_COM_PAYLOAD_BYTES = 65_533;
/** Marker (2) + length field (2). */
const SEGMENT_OVERHEAD_BYTES = 4;

/** How many distinct base images to encode; enough that neighbours differ. */
export const DEFAULT_BASE_IMAGE_COUNT = 32;

/** Encodes `count` small images (48–128 px, smooth gradients plus noise) from the seed. */
export function makeBaseImages(seed: string | number, count = DEFAULT_BASE_IMAGE_COUNT): Buffer[] {
  const rng = new Prng(`${seed}:base-images`);
  const images: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const width = 48 + rng.int(81);
    const height = 48 + rng.int(81);
    const data = Buffer.alloc(width * height * 4);
    const [r0, g0, b0] = [rng.int(256), rng.int(256), rng.int(256)];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 4;
        const noise = rng.int(32);
        data[o] = (r0 + x * 2 + noise) & 0xff;
        data[o + 1] = (g0 + y * 2 + noise) & 0xff;
        data[o + 2] = (b0 + ((x + y) >> 1)) & 0xff;
        data[o + 3] = 0xff;
      }
    }
    images.push(jpeg.encode({ width, height, data }, 75 + rng.int(20)).data);
  }
  return images;
}

/** Where COM segments go: after SOI and, when present, after the APP0 (JFIF) segment that must follow SOI. */
function insertionOffset(base: Buffer): number {
  if (base[0] !== 0xff || base[1] !== 0xd8) throw new Error('base image does not start with SOI');
  if (base[2] === 0xff && base[3] === 0xe0) return 4 + base.readUInt16BE(4);
  return 2;
}

/**
 * Returns `base` grown to exactly `targetBytes` with COM segments of random
 * bytes keyed by (seed, label). A target smaller than base + 4 bytes yields
 * the base image unchanged, since no segment fits.
 */
export function padJpeg(base: Buffer, targetBytes: number, seed: string | number, label: string): Buffer {
  const padBytes = targetBytes - base.length;
  if (padBytes < SEGMENT_OVERHEAD_BYTES) return base;
  const segments = Math.ceil(padBytes / (MAX_COM_PAYLOAD_BYTES + SEGMENT_OVERHEAD_BYTES));
  const payloadTotal = padBytes - segments * SEGMENT_OVERHEAD_BYTES;
  const random = seededBytes(seed, label, payloadTotal);
  const at = insertionOffset(base);
  const out = Buffer.allocUnsafe(targetBytes);
  base.copy(out, 0, 0, at);
  let w = at;
  let r = 0;
  for (let s = 0; s < segments; s++) {
    // Spread the payload evenly; each share stays <= MAX_COM_PAYLOAD_BYTES.
    const payload = Math.floor(payloadTotal / segments) + (s < payloadTotal % segments ? 1 : 0);
    out[w] = 0xff;
    out[w + 1] = 0xfe;
    out.writeUInt16BE(payload + 2, w + 2);
    random.copy(out, w + 4, r, r + payload);
    w += SEGMENT_OVERHEAD_BYTES + payload;
    r += payload;
  }
  base.copy(out, w, at);
  return out;
}
