// An audit log — a tenant's or the operator's — filterable by principal,
// action, purpose and outcome, and verified in the browser (audit_verify.ts):
// the whole log against its signed head, or one entry by its inclusion proof.
import { call } from '../api';
import { attempt } from '../app';
import { verifyEntry, verifyLog, type LogRef } from '../audit_verify';
import { badge, button, field, h, list, replace, table, time, type Child } from '../dom';

type Filters = { principal?: string; action?: string; purpose?: string; outcome?: 'ok' | 'denied' | 'error' };

function events(log: LogRef, from: number, f: Filters) {
  const { action, purpose, outcome } = f;
  return log.kind === 'tenant'
    ? call('get', '/v1/tenants/{t}/audit/events', {
        path: { t: log.tenant },
        query: { from, limit: 100, action, purpose, outcome, principal: f.principal },
      })
    : call('get', '/v1/operator/audit/events', { query: { from, limit: 100, action, purpose, outcome } });
}

function head(log: LogRef) {
  return log.kind === 'tenant'
    ? call('get', '/v1/tenants/{t}/audit/head', { path: { t: log.tenant } })
    : call('get', '/v1/operator/audit/head');
}

// The verdict of a whole-log verification, in words.
export function verdictView(v: Awaited<ReturnType<typeof verifyLog>>): HTMLElement {
  if (v.ok)
    return h('p', { class: 'verdict ok', role: 'status', 'data-verdict': 'verified' },
      badge('verified', 'ok'),
      ` All ${v.size} entries match the signed head (Ed25519, SHA-256 Merkle tree)`,
      v.grewFrom !== undefined ? `, and the log only grew since the ${v.grewFrom} entries verified before.` : '.');
  return h('p', { class: 'verdict bad', role: 'alert', 'data-verdict': 'failed', 'data-first-bad': v.firstBad ?? '' },
    badge('verification failed', 'bad'),
    v.firstBad !== undefined ? ` First bad entry: #${v.firstBad} — ${v.problem}.` : ` ${v.problem}.`);
}

export function verifyPanel(log: LogRef, label: string): HTMLElement {
  const out = h('div', { class: 'verify-out', 'aria-live': 'polite' });
  const progress = h('p', { class: 'busy' });
  return h('section', { class: 'card verify' },
    h('h2', {}, label),
    h('p', {}, 'Your browser fetches the signed head and every entry, recomputes the Merkle tree with WebCrypto, checks the signature with the deployment’s public key, and uses consistency proofs to find the first bad entry.'),
    button('Verify the log', () => void attempt(out, async () => {
      replace(out, progress);
      return verdictView(await verifyLog(log, (text) => replace(progress, text)));
    })),
    out);
}

export async function auditView(log: LogRef): Promise<Child[]> {
  const size = (await head(log)).tree_size;
  const principal = h('input', { id: 'f-principal', name: 'principal', autocomplete: 'off' });
  const action = h('input', { id: 'f-action', name: 'action', autocomplete: 'off', placeholder: 'records.get' });
  const purpose = h('input', { id: 'f-purpose', name: 'purpose', autocomplete: 'off' });
  const outcome = h('select', { id: 'f-outcome', name: 'outcome' },
    h('option', { value: '' }, 'any'), ['ok', 'denied', 'error'].map((o) => h('option', { value: o }, o)));
  const rows = h('div', { 'aria-live': 'polite' });
  const more = h('div');

  // Pages go one after another into `rows`; `more` holds the button for
  // the next one.
  const load = (from: number, f: Filters) => {
    const slot = h('div');
    rows.append(slot);
    replace(more);
    return attempt(slot, async () => {
      const page = await events(log, from, f);
      const next = page.next;
      if (next !== null) replace(more, button('Load more', () => void load(next, f)));
      return table(`Audit events from entry ${from}`, [
        { label: '#', value: (e) => String(e.seq) },
        { label: 'When', value: (e) => time(e.at) },
        { label: 'Actor', value: (e) => h('code', {}, e.actor) },
        { label: 'Action', value: (e) => e.action },
        { label: 'Purpose', value: (e) => e.purpose || '—' },
        { label: 'Subjects', value: (e) => [e.collection ? `${e.collection}: ` : '', `${e.records.length} record(s), ${e.principal_pseudonyms.length} principal(s)`, e.fields.length ? `; fields ${list(e.fields)}` : ''] },
        { label: 'Region', value: (e) => e.region || '—' },
        { label: 'Outcome', value: (e) => badge(e.outcome, e.outcome === 'ok' ? 'ok' : e.outcome === 'denied' ? 'warn' : 'bad') },
        { label: 'Proof', value: (e) => {
            const slot = h('span', { 'aria-live': 'polite' });
            return [button('Check', () => void attempt(slot, async () => {
              const r = await verifyEntry(log, e.seq);
              return r.ok ? badge('included', 'ok') : badge(r.problem ?? 'failed', 'bad');
            }), { 'aria-label': `Check the inclusion proof of entry ${e.seq}` }), ' ', slot];
          } },
      ], page.events);
    });
  };

  const form = h('form', { class: 'inline', 'aria-label': 'Filter audit events' },
    log.kind === 'tenant' ? field('Principal id', principal) : null,
    field('Action', action), field('Purpose', purpose), field('Outcome', outcome),
    h('button', { type: 'submit' }, 'Filter'));
  const apply = () => {
    const f: Filters = {
      principal: principal.value.trim() || undefined,
      action: action.value.trim() || undefined,
      purpose: purpose.value.trim() || undefined,
      outcome: (outcome.value || undefined) as Filters['outcome'],
    };
    const filtered = Object.values(f).some((v) => v !== undefined);
    replace(rows);
    // Unfiltered, the newest 100 entries; filtered, from the start.
    void load(filtered ? 0 : Math.max(0, size - 100), f);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  apply();
  return [verifyPanel(log, `Verify this log (${size} entries)`), h('h2', {}, 'Events'), form, rows, more];
}
