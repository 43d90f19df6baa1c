import { randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const FORTY_BITS = 2 ** 40;

/** `value` (< 32^length) as `length` Crockford base-32 digits, most significant first. */
function base32(value: number, length: number): string {
  let out = "";
  for (let i = 0; i < length; i += 1) {
    out = CROCKFORD[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

// Random bytes drawn 4 KiB at a time: one crypto call per ~400 ids instead of one per character.
let pool = Buffer.alloc(0);
let poolOffset = 0;
function random40(): number {
  if (poolOffset + 5 > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  const value = pool.readUIntBE(poolOffset, 5);
  poolOffset += 5;
  return value;
}

let lastTime = -1;
let high = 0;
let low = 0;

/**
 * A monotonic ULID (48-bit milliseconds + 80 random bits, Crockford base 32): ids made in the
 * same millisecond increment the random part, so they sort in the order they were made.
 */
export function ulid(time: number): string {
  if (time <= lastTime) {
    low += 1;
    if (low === FORTY_BITS) {
      low = 0;
      high = (high + 1) % FORTY_BITS;
    }
  } else {
    lastTime = time;
    high = random40();
    low = random40();
  }
  return base32(Math.max(time, lastTime), 10) + base32(high, 8) + base32(low, 8);
}

/** Job ids look like `j-<ULID>`: sortable by creation time, unique across processes. */
export const newJobId = (at: Date = new Date()) => `j-${ulid(at.getTime())}`;
