// The auditor's views: the Statement of Applicability with its live
// evidence and nonconformities, the printable report, the register of
// external audits, and every log's signed head with its verification.
import { call, fetchBlob, type Schemas } from '../api';
import { attempt, type View } from '../app';
import { badge, button, facts, h, replace, saveFile, table, time } from '../dom';
import { auditView, verifyPanel } from './audit';

type Control = Schemas['Soa']['controls'][number];
const statusTone: Record<Control['status'], 'ok' | 'warn' | 'bad' | 'info'> = {
  implemented: 'ok',
  partially_implemented: 'warn',
  organizational: 'info',
  not_applicable: 'info',
  nonconformity: 'bad',
};

// Evidence is live JSON from the running deployment: shown as its members.
function evidence(e: unknown): HTMLElement | string {
  if (e === null || typeof e !== 'object') return e === undefined ? '—' : String(e);
  return h('dl', { class: 'evidence' }, Object.entries(e as Record<string, unknown>).map(([k, v]) =>
    [h('dt', {}, k), h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v))]));
}

async function soa() {
  const s = await call('get', '/v1/compliance/soa');
  const counts = new Map<string, number>();
  for (const c of s.controls) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const onlyBad = h('input', { id: 'only-nonconformities', type: 'checkbox' });
  const rows = h('div');
  const render = () => replace(rows, table('Controls', [
    { label: 'Control', value: (c) => [h('strong', {}, c.id), c.id_2014 && c.id_2014 !== c.id ? ` (2014: ${c.id_2014})` : ''] },
    { label: 'Title', value: (c) => c.title },
    { label: 'Status', value: (c) => [badge(c.status.replace('_', ' '), statusTone[c.status]), c.reasons?.length ? h('ul', {}, c.reasons.map((r) => h('li', {}, r))) : null] },
    { label: 'Implementation', value: (c) => c.implementation },
    { label: 'Evidence', value: (c) => evidence(c.evidence) },
  ], onlyBad.checked ? s.controls.filter((c) => c.status === 'nonconformity' || c.status === 'partially_implemented') : s.controls));
  onlyBad.addEventListener('change', render);
  render();
  return [
    facts([['Standard', s.standard], ['Generated', time(s.generated_at)],
      ['Controls', [...counts].map(([k, n]) => `${n} ${k.replace('_', ' ')}`).join(', ')]]),
    h('h2', {}, 'Nonconformities'),
    table('Nonconformities', [
      { label: 'Control', value: (n) => n.control },
      { label: 'Reasons', value: (n) => h('ul', {}, n.reasons.map((r) => h('li', {}, r))) },
    ], s.nonconformities),
    h('h2', {}, 'Controls'),
    h('div', { class: 'field check' }, onlyBad, h('label', { for: 'only-nonconformities' }, 'Only controls not fully implemented')),
    rows,
  ];
}

async function report() {
  const out = h('div', { 'aria-live': 'polite' });
  return [
    h('p', {}, 'The Statement of Applicability as a printable page, generated now from the live deployment.'),
    button('Download the report (HTML)', () => void attempt(out, async () => {
      saveFile(await fetchBlob('/v1/compliance/report'), 'piivault-iso27018-report.html');
      return h('p', { role: 'status' }, 'Report saved.');
    })),
    out,
  ];
}

async function register() {
  const r = await call('get', '/v1/compliance/audits');
  return [
    facts([['Next audit due', time(r.next_audit_due)]]),
    table('External audits and certificates', [
      { label: 'Standard', value: (a) => a.standard },
      { label: 'Body', value: (a) => a.body },
      { label: 'Scope', value: (a) => a.scope },
      { label: 'Period', value: (a) => [time(a.period_start), ' – ', time(a.period_end)] },
      { label: 'Issued', value: (a) => time(a.issued_at) },
      { label: 'Expires', value: (a) => time(a.expires_at) },
      { label: 'Report SHA-256', value: (a) => h('code', { class: 'hash' }, a.report_sha256) },
    ], r.audits),
  ];
}

async function logs() {
  const { tenants } = await call('get', '/v1/tenants');
  const heads = await Promise.all(tenants.map((t) =>
    call('get', '/v1/tenants/{t}/audit/head', { path: { t: t.id } }).then((head) => ({ t, head }))));
  const sections = heads.map(({ t, head }) => h('section', { class: 'card' },
    h('h2', {}, `Tenant ${t.id}`),
    facts([['State', t.state], ['Entries', String(head.tree_size)], ['Signed', time(head.timestamp)],
      ['Root', h('code', { class: 'hash' }, head.root_hash)], ['Key', head.key_id]]),
    verifyPanel({ kind: 'tenant', tenant: t.id }, `Verify tenant ${t.id}’s log`)));
  return [verifyPanel({ kind: 'operator' }, 'Verify the operator log'), ...sections];
}

export const auditorViews: View[] = [
  { id: 'soa', title: 'Statement of Applicability', render: soa },
  { id: 'report', title: 'Report', render: report },
  { id: 'register', title: 'Audit register', render: register },
  { id: 'logs', title: 'Audit logs', render: logs },
  { id: 'operator-audit', title: 'Operator audit log', render: () => auditView({ kind: 'operator' }) },
];

