// RFC 6962 / RFC 9162 Merkle tree math with WebCrypto's SHA-256, the same as
// the server's (src/audit/merkle.h):
//   leaf hash  SHA-256(0x00 || entry)     node hash  SHA-256(0x01 || l || r)
//   empty tree SHA-256("")

export type Hash = Uint8Array;

async function sha256(...parts: Uint8Array[]): Promise<Hash> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

const utf8 = new TextEncoder();
export const leafHash = (entry: string): Promise<Hash> => sha256(Uint8Array.of(0), utf8.encode(entry));
export const nodeHash = (l: Hash, r: Hash): Promise<Hash> => sha256(Uint8Array.of(1), l, r);
export const emptyRoot = (): Promise<Hash> => sha256();

export function equal(a: Hash, b: Hash): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function fromHex(hex: string): Hash {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error('not a 32-byte hex hash');
  return Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
}

export function toHex(h: Hash): string {
  return Array.from(h, (b) => b.toString(16).padStart(2, '0')).join('');
}

// MTH(D[n]) of these leaf hashes: a left-to-right fold keeping the peaks
// (one perfect subtree per set bit of the count), merged right to left.
export async function rootOf(leaves: readonly Hash[]): Promise<Hash> {
  if (leaves.length === 0) return emptyRoot();
  const peaks: { size: number; hash: Hash }[] = [];
  for (const leaf of leaves) {
    let node = { size: 1, hash: leaf };
    while (peaks.length && peaks[peaks.length - 1]!.size === node.size) {
      const left = peaks.pop()!;
      node = { size: node.size * 2, hash: await nodeHash(left.hash, node.hash) };
    }
    peaks.push(node);
  }
  let root = peaks.pop()!.hash;
  while (peaks.length) root = await nodeHash(peaks.pop()!.hash, root);
  return root;
}

// The two node indices RFC 9162's verifiers walk up the tree together: fn
// on the path of the leaf (or the first tree's edge), sn on the last node.
class Walk {
  constructor(
    public fn: number,
    public sn: number,
  ) {}
  // Whether the next proof hash is the left sibling.
  leftSibling(): boolean {
    return this.fn % 2 === 1 || this.fn === this.sn;
  }
  // One level up.
  up(): void {
    this.fn = Math.floor(this.fn / 2);
    this.sn = Math.floor(this.sn / 2);
  }
  // Up past the levels where fn is a left child with no sibling in the
  // proof ("until LSB(fn) is set or fn is 0").
  upPastLeftEdges(): void {
    while (this.fn % 2 === 0 && this.fn !== 0) this.up();
  }
}

// RFC 9162 §2.1.3.2.
export async function verifyInclusion(
  leaf: Hash,
  index: number,
  size: number,
  path: readonly Hash[],
  root: Hash,
): Promise<boolean> {
  if (index >= size) return false;
  const w = new Walk(index, size - 1);
  let r = leaf;
  for (const p of path) {
    if (w.sn === 0) return false;
    if (w.leftSibling()) {
      r = await nodeHash(p, r);
      w.upPastLeftEdges();
    } else {
      r = await nodeHash(r, p);
    }
    w.up();
  }
  return w.sn === 0 && equal(r, root);
}

// RFC 9162 §2.1.4.2 for 0 < first < second; as the server's, first ==
// second needs an empty proof and equal roots.
export async function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Hash,
  secondRoot: Hash,
  proof: readonly Hash[],
): Promise<boolean> {
  if (first === second) return proof.length === 0 && equal(firstRoot, secondRoot);
  if (first === 0 || first > second || proof.length === 0) return false;
  let path = [...proof];
  // (Not first & (first - 1): bitwise operators truncate to 32 bits.)
  if (2 ** Math.round(Math.log2(first)) === first) path = [firstRoot, ...path];
  const w = new Walk(first - 1, second - 1);
  while (w.fn % 2 === 1) w.up();
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (w.sn === 0) return false;
    if (w.leftSibling()) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      w.upPastLeftEdges();
    } else {
      sr = await nodeHash(sr, c);
    }
    w.up();
  }
  return equal(fr, firstRoot) && equal(sr, secondRoot) && w.sn === 0;
}
