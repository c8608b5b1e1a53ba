// The console's Merkle tree code (web/src/merkle.ts, bundled for node by the
// console's own esbuild) against the server, the reference: for a real log
// of N entries, every inclusion proof (i, n) and every consistency proof
// (m, n) for 0 < m <= n <= N that the server gives verifies with the roots
// merkle.ts computes from the entries' bytes — and fails once one byte of
// the proof, the leaf or the root is flipped. The root of all N entries is
// the one the signed head names.
//
//   node merkle_test.mjs PIIVAULT_BINARY
// Prints PASS or FAIL with the reasons; exits non-zero on failure.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, startPiivault } from './piivault_server.mjs';

const [piivault] = process.argv.slice(2);
if (!piivault) {
  console.error('usage: node merkle_test.mjs PIIVAULT_BINARY');
  process.exit(2);
}
const web = join(dirname(fileURLToPath(import.meta.url)), '../../web');
const esbuild = createRequire(join(web, 'package.json'))('esbuild');
const bundle = esbuild.buildSync({ entryPoints: [join(web, 'src/merkle.ts')], bundle: true, format: 'esm', write: false });
const merkle = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString('base64')}`);

const N = 21; // sizes 1..21 cover perfect trees, first = power of two and not
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  return ok;
};

async function main() {
  let server;
  try {
    server = await startPiivault(piivault);
    const call = (key, method, path, body, purpose) => api(server.base, key, method, path, body, purpose);
    const operator = server.operatorKey;
    await call(operator, 'POST', '/v1/tenants', { id: 'acme', regions: ['eu'], default_region: 'eu' });
    const admin = (await call(operator, 'POST', '/v1/tenants/acme/identities', { name: 'a', role: 'tenant-admin' })).api_key;
    const log = '/v1/tenants/acme/audit';
    const size = async () => (await call(admin, 'GET', `${log}/head`)).tree_size;
    await call(admin, 'PUT', '/v1/tenants/acme/collections/c', { fields: [{ name: 'n', type: 'integer' }] });
    for (let i = 0; (await size()) < N; ++i)
      await call(admin, 'POST', '/v1/tenants/acme/collections/c/records', { principal: `p${i}`, fields: { n: i } }, 'service_delivery');

    const page = await call(admin, 'GET', `${log}/export`);
    const leaves = [];
    for (const e of page.entries) leaves.push(await merkle.leafHash(e));
    check(leaves.length === page.head.tree_size && merkle.toHex(await merkle.rootOf(leaves)) === page.head.root_hash,
      'rootOf(all entries) is not the signed root');
    const roots = [null];
    for (let n = 1; n <= N; ++n) roots.push(await merkle.rootOf(leaves.slice(0, n)));
    check(merkle.toHex(await merkle.rootOf([])) === 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'the empty root is not SHA-256("")');

    const flip = (h) => {
      const c = Uint8Array.from(h);
      c[0] ^= 1;
      return c;
    };
    let proofs = 0;
    for (let n = 1; n <= N; ++n) {
      for (let i = 0; i < n; ++i) {
        const p = await call(admin, 'GET', `${log}/proof/inclusion?index=${i}&tree_size=${n}`);
        const path = p.path.map(merkle.fromHex);
        check(p.leaf_hash === merkle.toHex(leaves[i]), `inclusion (${i}, ${n}): the server's leaf hash differs`);
        check(await merkle.verifyInclusion(leaves[i], i, n, path, roots[n]), `inclusion (${i}, ${n}) does not verify`);
        check(!(await merkle.verifyInclusion(flip(leaves[i]), i, n, path, roots[n])), `inclusion (${i}, ${n}) verifies a changed leaf`);
        check(!(await merkle.verifyInclusion(leaves[i], i, n, path, flip(roots[n]))), `inclusion (${i}, ${n}) verifies against a changed root`);
        if (path.length)
          check(!(await merkle.verifyInclusion(leaves[i], i, n, [flip(path[0]), ...path.slice(1)], roots[n])), `inclusion (${i}, ${n}) verifies a changed proof`);
        ++proofs;
      }
      for (let m = 1; m <= n; ++m) {
        const p = await call(admin, 'GET', `${log}/proof/consistency?first=${m}&second=${n}`);
        const path = p.path.map(merkle.fromHex);
        check(await merkle.verifyConsistency(m, n, roots[m], roots[n], path), `consistency (${m}, ${n}) does not verify`);
        if (m < n) {
          check(!(await merkle.verifyConsistency(m, n, flip(roots[m]), roots[n], path)), `consistency (${m}, ${n}) verifies a changed first root`);
          check(!(await merkle.verifyConsistency(m, n, roots[m], flip(roots[n]), path)), `consistency (${m}, ${n}) verifies a changed second root`);
          check(!(await merkle.verifyConsistency(m, n, roots[m], roots[n], [flip(path[0]), ...path.slice(1)])), `consistency (${m}, ${n}) verifies a changed proof`);
        }
        ++proofs;
      }
    }
    return proofs;
  } finally {
    if (server) server.stop();
  }
}

main().then(
  (proofs) => {
    if (failures.length) {
      console.log(`FAIL\n  ${failures.slice(0, 20).join('\n  ')}${failures.length > 20 ? `\n  … ${failures.length - 20} more` : ''}`);
      process.exit(1);
    }
    console.log(`PASS: ${proofs} proofs of the server verified by web/src/merkle.ts, and none once changed`);
  },
  (e) => {
    console.log(`FAIL: ${e.stack || e}`);
    process.exit(1);
  },
);
