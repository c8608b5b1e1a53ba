// A throw-away piivault deployment for the browser tests: `piivault init`
// in a temporary directory, then `piivault serve` on a free loopback port.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Resolves once /healthz answers: { base, dir, operatorKey, stop() }.
export async function startPiivault(binary) {
  const dir = mkdtempSync(join(tmpdir(), 'piivault-web-'));
  execFileSync(binary, ['init', '--dir', dir], { stdio: 'ignore' });
  const port = await freePort();
  const server = spawn(binary, ['serve', '--config', join(dir, 'piivault.toml'), '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  server.stderr.on('data', (d) => (log += d));
  const stop = () => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; ++i) {
    try {
      if ((await fetch(`${base}/healthz`)).ok)
        return { base, dir, operatorKey: readFileSync(join(dir, 'admin.key'), 'utf8').trim(), stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error(`piivault serve did not come up: ${log}`);
}

// One API call; throws unless it succeeds.
export async function api(base, key, method, path, body, purpose) {
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (purpose) headers['X-Purpose'] = purpose;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}
