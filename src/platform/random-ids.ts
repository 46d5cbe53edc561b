import { randomFillSync } from 'node:crypto';

/** Ids drawn per refill of the entropy buffer. */
const IDS_PER_REFILL = 256;

/**
 * Random ids of `bytes` random bytes each (base64url), from the CSPRNG a refill at a time: one
 * `randomFillSync` per IDS_PER_REFILL ids instead of one per id, as Node's own `randomUUID`
 * buffers its entropy. Every byte is handed out once; the ids are as random as
 * `randomBytes(bytes)`'s.
 */
export class RandomIds {
  private readonly pool: Buffer;
  private offset: number;

  constructor(private readonly bytes: number) {
    this.pool = Buffer.allocUnsafeSlow(bytes * IDS_PER_REFILL);
    this.offset = this.pool.length;
  }

  next(): string {
    if (this.offset + this.bytes > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const id = this.pool.toString('base64url', this.offset, this.offset + this.bytes);
    this.offset += this.bytes;
    return id;
  }
}
