// In-browser verification of an audit log against the deployment's signing
// key, trusting nothing the server says that a signature or a hash does not
// vouch for — the same checks as `piivault audit verify`
// (src/audit/verify.cc), with RFC 6962 proofs to find the first bad entry:
//
//   1. the signed head (from the export's first page) verifies with the
//      Ed25519 key of GET /v1/audit/public-key;
//   2. every entry is present, in its place (its "seq" is its index), and
//      the entries hash to the signed root;
//   3. if not, the first bad entry: the first one the server could not read,
//      or the end of the longest prefix of entries whose own root a
//      consistency proof ties to the signed root (a binary search);
//   4. the log only grew since the head this tab verified before
//      (a consistency proof between the two signed heads).
import { call, type Schemas } from './api';
import { emptyRoot, equal, fromHex, leafHash, rootOf, toHex, verifyConsistency, verifyInclusion, type Hash } from './merkle';

export type LogRef = { kind: 'tenant'; tenant: string } | { kind: 'operator' };
type SignedHead = Schemas['SignedHead'];

export interface Verdict {
  ok: boolean;
  size: number; // entries the signed head covers
  firstBad?: number; // the first entry that fails, when one does
  problem?: string;
  grewFrom?: number; // the size of the head verified before, when there was one
}

const b64 = (s: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

function exportPage(log: LogRef, from: number, limit: number) {
  return log.kind === 'tenant'
    ? call('get', '/v1/tenants/{t}/audit/export', { path: { t: log.tenant }, query: { from, limit } })
    : call('get', '/v1/operator/audit/export', { query: { from, limit } });
}

function consistency(log: LogRef, first: number, second: number) {
  return log.kind === 'tenant'
    ? call('get', '/v1/tenants/{t}/audit/proof/consistency', { path: { t: log.tenant }, query: { first, second } })
    : call('get', '/v1/operator/audit/proof/consistency', { query: { first, second } });
}

function inclusion(log: LogRef, index: number, tree_size: number) {
  return log.kind === 'tenant'
    ? call('get', '/v1/tenants/{t}/audit/proof/inclusion', { path: { t: log.tenant }, query: { index, tree_size } })
    : call('get', '/v1/operator/audit/proof/inclusion', { query: { index, tree_size } });
}

// The bytes a signed statement covers (audit_log.cc, StatementBytes):
//   tag 0x00 log_id 0x00 u64be(count) u64be(unix seconds) [root]
function statementBytes(tag: string, logId: string, count: number, timestamp: string, root?: Hash): Uint8Array<ArrayBuffer> {
  const text = new TextEncoder().encode(`${tag}\0${logId}\0`);
  const out = new Uint8Array(text.length + 16 + (root ? root.length : 0));
  out.set(text);
  const view = new DataView(out.buffer);
  view.setBigUint64(text.length, BigInt(count));
  view.setBigUint64(text.length + 8, BigInt(Math.floor(Date.parse(timestamp) / 1000)));
  if (root) out.set(root, text.length + 16);
  return out;
}

// The deployment's signing key, checked once per page load.
let signingKey: Promise<{ id: string; key: CryptoKey }> | undefined;
function deploymentKey() {
  signingKey ??= call('get', '/v1/audit/public-key').then(async (k) => {
    if (k.algorithm !== 'ed25519') throw new Error(`unexpected signing algorithm ${k.algorithm}`);
    const key = await crypto.subtle.importKey('raw', b64(k.public_key), { name: 'Ed25519' }, false, ['verify']);
    return { id: k.key_id, key };
  });
  return signingKey;
}

async function signatureVerifies(keyId: string, signature: string, bytes: Uint8Array<ArrayBuffer>): Promise<boolean> {
  const { id, key } = await deploymentKey();
  if (keyId !== id) return false;
  try {
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, b64(signature), bytes);
  } catch {
    return false; // not a signature at all
  }
}

const headVerifies = (head: SignedHead) =>
  signatureVerifies(
    head.key_id,
    head.signature,
    statementBytes('piivault-tree-head-v1', head.log_id, head.tree_size, head.timestamp, fromHex(head.root_hash)),
  );

const checkpointVerifies = (c: NonNullable<Schemas['AuditExport']['pruned']>, logId: string) =>
  c.log_id === logId &&
  signatureVerifies(c.key_id, c.signature, statementBytes('piivault-audit-pruned-v1', c.log_id, c.pruned_before, c.timestamp));

const previousSlot = (log: LogRef) => `piivault.verified_head.${log.kind === 'tenant' ? `t/${log.tenant}` : 'operator'}`;

// Whether the first `m` leaves are the first m of the tree the head signs.
async function prefixHolds(log: LogRef, leaves: Hash[], m: number, head: SignedHead): Promise<boolean> {
  const proof = await consistency(log, m, head.tree_size);
  return verifyConsistency(m, head.tree_size, await rootOf(leaves.slice(0, m)), fromHex(head.root_hash), proof.path.map(fromHex));
}

export async function verifyLog(log: LogRef, progress: (text: string) => void = () => {}): Promise<Verdict> {
  // 1. The signed head, and the entries it covers, a page at a time (the
  //    log may grow meanwhile: the first page's head fixes what is checked).
  const first = await exportPage(log, 0, 4096);
  const head = first.head;
  const size = head.tree_size;
  if (!(await headVerifies(head)))
    return { ok: false, size, problem: "the signed head's signature does not verify with the deployment's key" };
  const entries: (string | null)[] = [...first.entries];
  const stored: string[] = [...first.leaf_hashes];
  let pruned = 0;
  if (first.pruned) {
    if (!(await checkpointVerifies(first.pruned, head.log_id)))
      return { ok: false, size, problem: 'the prune checkpoint is not signed for this log' };
    pruned = Math.min(first.pruned.pruned_before, size);
  }
  while (entries.length < size) {
    progress(`Fetched ${entries.length} of ${size} entries…`);
    const page = await exportPage(log, entries.length, Math.min(4096, size - entries.length));
    if (page.entries.length === 0) break;
    entries.push(...page.entries);
    stored.push(...page.leaf_hashes);
  }
  entries.length = Math.min(entries.length, size);

  // 2. Every entry readable and in its place, hashed.
  progress(`Hashing ${entries.length} entries…`);
  const leaves: Hash[] = [];
  let broken: { index: number; problem: string } | undefined;
  for (let i = 0; i < entries.length; ++i) {
    const entry = entries[i];
    if (entry == null && i < pruned && stored[i]) {
      leaves.push(fromHex(stored[i]!)); // removed by retention, behind a signed checkpoint
      continue;
    }
    if (entry == null) {
      broken = { index: i, problem: `entry ${i} is missing or failed its integrity check` };
      break;
    }
    let seq: unknown;
    try {
      seq = (JSON.parse(entry) as { seq?: unknown }).seq;
    } catch {
      broken = { index: i, problem: `entry ${i} is malformed` };
      break;
    }
    if (seq !== i) {
      broken = { index: i, problem: `entry ${i} is out of place (it says it is entry ${String(seq)})` };
      break;
    }
    leaves.push(await leafHash(entry));
  }
  if (!broken && leaves.length < size)
    broken = { index: leaves.length, problem: `the log is truncated: the signed head covers ${size} entries, the server returned ${leaves.length}` };
  if (!broken && !equal(await rootOf(leaves), fromHex(head.root_hash))) broken = { index: -1, problem: '' };

  // 3. The first bad entry: the shortest prefix the signed tree does not
  //    extend (prefixes up to the first bad entry all hold).
  if (broken) {
    progress('Locating the first bad entry with consistency proofs…');
    let good = 0; // the longest prefix known to hold
    let bad = leaves.length + 1; // the shortest known not to
    if (leaves.length > 0 && (await prefixHolds(log, leaves, leaves.length, head))) good = leaves.length;
    else bad = leaves.length;
    while (bad - good > 1) {
      const mid = Math.floor((good + bad) / 2);
      if (await prefixHolds(log, leaves, mid, head)) good = mid;
      else bad = mid;
    }
    if (good < leaves.length) return { ok: false, size, firstBad: good, problem: `entry ${good} was modified` };
    if (broken.index >= 0) return { ok: false, size, firstBad: broken.index, problem: broken.problem };
    return { ok: false, size, problem: 'the entries do not hash to the signed root' };
  }

  // 4. Only grown since the head verified before in this tab.
  const before = sessionStorage.getItem(previousSlot(log));
  let grewFrom: number | undefined;
  if (before) {
    const previous = JSON.parse(before) as SignedHead;
    grewFrom = previous.tree_size;
    if (previous.tree_size > size)
      return { ok: false, size, problem: `the log shrank: ${previous.tree_size} entries were verified before, now ${size}` };
    const then = previous.tree_size === 0 ? await emptyRoot() : fromHex(previous.root_hash);
    const proof = previous.tree_size === 0 ? { path: [] } : await consistency(log, previous.tree_size, size);
    const grew =
      previous.tree_size === 0 ||
      (await verifyConsistency(previous.tree_size, size, then, fromHex(head.root_hash), proof.path.map(fromHex)));
    if (!grew || !equal(await rootOf(leaves.slice(0, previous.tree_size)), then))
      return { ok: false, size, grewFrom, problem: `the log was rewritten: its first ${previous.tree_size} entries no longer match the head verified before` };
  }
  sessionStorage.setItem(previousSlot(log), JSON.stringify(head));
  return { ok: true, size, grewFrom };
}

// One entry's inclusion in a freshly signed head (RFC 6962 audit path).
export async function verifyEntry(log: LogRef, index: number): Promise<{ ok: boolean; problem?: string }> {
  const page = await exportPage(log, index, 1);
  if (!(await headVerifies(page.head))) return { ok: false, problem: "the signed head's signature does not verify" };
  const entry = page.entries[0];
  if (entry == null) return { ok: false, problem: `entry ${index} is missing or failed its integrity check` };
  if ((JSON.parse(entry) as { seq?: unknown }).seq !== index) return { ok: false, problem: `entry ${index} is out of place` };
  const proof = await inclusion(log, index, page.head.tree_size);
  const leaf = await leafHash(entry);
  if (toHex(leaf) !== proof.leaf_hash) return { ok: false, problem: `entry ${index} was modified` };
  const ok = await verifyInclusion(leaf, index, page.head.tree_size, proof.path.map(fromHex), fromHex(page.head.root_hash));
  return ok ? { ok } : { ok, problem: `entry ${index} is not in the signed tree` };
}
