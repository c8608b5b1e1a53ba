// The tenant-admin's views (a tenant-app sees the same, and the API refuses
// what its policy does not allow): where the data is, records, a
// principal's data and consents, access, lockbox, notices and certificates.
import { call, fetchBlob, type Schemas } from '../api';
import { attempt, type Ctx, type View } from '../app';
import { badge, button, facts, field, h, list, replace, saveFile, table, time } from '../dom';
import { auditView } from './audit';

const tenantOf = (ctx: Ctx): string => {
  if (!ctx.me.tenant) throw new Error('this identity belongs to no tenant');
  return ctx.me.tenant;
};

async function purposeSelect(t: string, id: string): Promise<HTMLSelectElement> {
  const { purposes } = await call('get', '/v1/tenants/{t}/purposes', { path: { t } });
  return h(
    'select',
    { id, name: id, required: true },
    purposes.map((p) => h('option', { value: p.id }, `${p.id} (${p.category}${p.requires_consent ? ', needs consent' : ''})`)),
  );
}

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

async function locations(ctx: Ctx) {
  const t = tenantOf(ctx);
  const loc = await call('get', '/v1/tenants/{t}/locations', { path: { t } });
  const most = Math.max(1, ...loc.regions.map((r) => r.records ?? 0));
  const chart = h(
    'figure',
    { class: 'bars' },
    h('figcaption', {}, 'Records per region (each region pinned to its countries)'),
    loc.regions.map((r) =>
      h(
        'div',
        { class: 'bar-row' },
        h('span', { class: 'bar-label' }, `${r.id} (${list(r.countries)})`),
        h(
          'span',
          { class: 'bar-track' },
          h('span', {
            class: 'bar',
            'data-width': Math.round(((r.records ?? 0) / most) * 100),
          }),
        ),
        h('span', { class: 'bar-value' }, r.records === null ? 'unreachable' : `${count(r.records, 'record')}, ${count(r.principals, 'principal')}`),
      ),
    ),
  );
  // Widths through the CSSOM (the CSP allows no inline style attribute).
  for (const bar of chart.querySelectorAll<HTMLElement>('.bar')) bar.style.width = `${bar.dataset['width']}%`;
  return [
    chart,
    table('Regions', [
      { label: 'Region', value: (r) => r.id },
      { label: 'Countries', value: (r) => list(r.countries) },
      { label: 'Principals', value: (r) => r.principals },
      { label: 'Records', value: (r) => r.records ?? 'unreachable' },
      { label: 'State', value: (r) => (r.available ? badge('available', 'ok') : badge('unavailable', 'bad')) },
    ], loc.regions),
    table('Sub-processors', [
      { label: 'Id', value: (s) => s.id },
      { label: 'Name', value: (s) => s.name },
      { label: 'Countries', value: (s) => list(s.countries) },
      { label: 'Effective', value: (s) => time(s.effective_at) },
    ], loc.sub_processors),
  ];
}

type Shown = { id: string; principal?: string; region?: string; fields?: Schemas['Fields'] };

// `openPrincipal`: a button on each row to that principal's view.
function recordsTable(caption: string, records: readonly Shown[], openPrincipal?: (principal: string) => void) {
  const names = [...new Set(records.flatMap((r) => Object.keys(r.fields ?? {})))].sort();
  const principal = (r: Shown) =>
    !r.principal ? '—' : !openPrincipal ? r.principal
      : [r.principal, ' ', button('Open', () => openPrincipal(r.principal!), { 'aria-label': `Open principal ${r.principal}` })];
  return table(caption, [
    { label: 'Record', value: (r) => h('code', {}, r.id) },
    ...(records.some((r) => r.principal) ? [{ label: 'Principal', value: principal }] : []),
    ...(records.some((r) => r.region) ? [{ label: 'Region', value: (r: Shown) => r.region ?? '—' }] : []),
    ...names.map((n) => ({ label: n, value: (r: Shown) => (r.fields?.[n] === undefined ? '—' : String(r.fields[n])) })),
  ], records);
}

async function records(ctx: Ctx) {
  const t = tenantOf(ctx);
  const { collections } = await call('get', '/v1/tenants/{t}/collections', { path: { t } });
  if (collections.length === 0) return h('p', { class: 'empty' }, 'This tenant has no collections yet.');
  const purpose = await purposeSelect(t, 'search-purpose');
  const collection = h('select', { id: 'search-collection', name: 'collection' }, collections.map((c) => h('option', { value: c.name }, c.name)));
  const fieldSel = h('select', { id: 'search-field', name: 'field' });
  const value = h('input', { id: 'search-value', name: 'value', type: 'search', autocomplete: 'off', required: true });
  const out = h('div', { 'aria-live': 'polite' });
  const schema = h('div');
  const pickCollection = () => {
    const c = collections.find((x) => x.name === collection.value)!;
    const searchable = c.fields.filter((f) => f.searchable);
    replace(fieldSel, searchable.map((f) => h('option', { value: f.name }, `${f.name} (${f.type})`)));
    replace(schema, table(`Fields of ${c.name}`, [
      { label: 'Field', value: (f) => f.name },
      { label: 'Type', value: (f) => f.type },
      { label: 'Required', value: (f) => (f.required ? 'yes' : 'no') },
      { label: 'Searchable', value: (f) => (f.searchable ? 'yes' : 'no') },
    ], c.fields), c.retention ? h('p', {}, `Retention: ${c.retention}`) : null);
  };
  collection.addEventListener('change', pickCollection);
  pickCollection();
  // The search value is personal data: it goes in the POST body, never the URL.
  const form = h('form', { class: 'inline', 'aria-label': 'Search records' },
    field('Collection', collection), field('Searchable field', fieldSel), field('Value', value),
    field('Purpose', purpose), h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void attempt(out, async () => {
      const found = await call('post', '/v1/tenants/{t}/collections/{c}/search', {
        path: { t, c: collection.value },
        body: { match: { [fieldSel.value]: value.value } },
        purpose: purpose.value,
      });
      return [
        recordsTable(`Records matching in ${collection.value}`, found.records, (p) => {
          // In memory to the principal's view: never in the address.
          ctx.held.set('principal', { principal: p, purpose: purpose.value });
          ctx.go('principal');
        }),
        found.records.length ? h('p', { class: 'note' }, 'Values are shown as your policy returns them: masked values stay masked.') : null,
      ];
    });
  });
  return [form, out, schema];
}

async function principal(ctx: Ctx) {
  const t = tenantOf(ctx);
  const id = h('input', { id: 'principal-id', name: 'principal', autocomplete: 'off', required: true });
  const purpose = await purposeSelect(t, 'principal-purpose');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline', 'aria-label': 'Open a principal' },
    field('Principal id', id), field('Purpose', purpose), h('button', { type: 'submit' }, 'Open'));
  const open = (p: string) => attempt(out, async () => {
    const [data, consents] = await Promise.all([
      call('get', '/v1/tenants/{t}/principals/{p}', { path: { t, p }, purpose: purpose.value }),
      call('get', '/v1/tenants/{t}/principals/{p}/consents', { path: { t, p } }),
    ]);
    const actions = h('div', { class: 'actions' });
    const outcome = h('div', { 'aria-live': 'polite' });
    const erase = () => {
      const confirm = h('div', { class: 'confirm', role: 'alertdialog', 'aria-label': 'Confirm erasure' },
        h('p', {}, `Erase every record of principal ${p} and destroy its key? This cannot be undone; a signed erasure certificate is issued.`),
        // Once erased, nothing of the principal is left to show but the
        // certificate.
        button('Erase permanently', () => void attempt(out, async () => {
          const { certificate } = await call('delete', '/v1/tenants/{t}/principals/{p}', { path: { t, p }, purpose: purpose.value });
          return [h('h2', {}, `Principal ${p}`), h('p', { class: 'ok', role: 'status' }, 'Erased. Certificate:'), certificateFacts(certificate)];
        }), { class: 'danger' }),
        button('Cancel', () => replace(outcome)));
      replace(outcome, confirm);
      confirm.querySelector('button')?.focus();
    };
    replace(actions,
      button('Export (JSON)', () => void attempt(outcome, async () => {
        saveFile(await fetchBlob('/v1/tenants/{t}/principals/{p}/export', { path: { t, p }, purpose: purpose.value }), 'principal-export.json');
        return h('p', { role: 'status' }, 'Export saved.');
      })),
      button('Erase…', erase, { class: 'danger' }));
    return [
      h('h2', {}, `Principal ${data.principal}`),
      facts([['Region', data.region], ['Records', String(data.records.length) + (data.next ? ' (first page)' : '')]]),
      recordsTable('Records', data.records.map((r) => ({ ...r, id: `${r.collection}/${r.id}` }))),
      h('h3', {}, 'Consents now'),
      table('Current consents', [
        { label: 'Purpose', value: ([k]) => k },
        { label: 'Consent', value: ([, v]) => (v ? badge('granted', 'ok') : badge('withdrawn', 'warn')) },
      ], Object.entries(consents.current)),
      h('h3', {}, 'Consent ledger'),
      table('Consent history', [
        { label: 'When', value: (c) => time(c.at) },
        { label: 'Purpose', value: (c) => c.purpose },
        { label: 'Granted', value: (c) => (c.granted ? 'granted' : 'withdrawn') },
        { label: 'Method', value: (c) => c.method || '—' },
        { label: 'Evidence', value: (c) => c.evidence || '—' },
      ], consents.history),
      actions, outcome,
    ];
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void open(id.value.trim());
  });
  // Opened from a search: the principal and the purpose it was found under.
  const held = ctx.held.get('principal') as { principal: string; purpose: string } | undefined;
  if (held) {
    ctx.held.delete('principal');
    id.value = held.principal;
    purpose.value = held.purpose;
    void open(held.principal);
  }
  return [h('p', {}, 'Principal ids are the tenant’s own opaque ids; the console never puts them in the page address.'), form, out];
}

function certificateFacts(c: Schemas['Certificate']) {
  if (c.kind === 'principal_erasure' && 'principal_pseudonym' in c)
    return facts([['Certificate', c.id], ['Kind', 'principal erasure'], ['Principal (pseudonym)', h('code', {}, c.principal_pseudonym)],
      ['Records erased', String(c.records)], ['Completed', time(c.completed_at)], ['Signed by key', c.key_id]]);
  return facts([['Certificate', c.id], ['Kind', c.kind], ['Completed', time(c.completed_at)], ['Signed by key', c.key_id]]);
}

async function access(ctx: Ctx) {
  const t = tenantOf(ctx);
  const [{ identities }, { purposes }] = await Promise.all([
    call('get', '/v1/tenants/{t}/identities', { path: { t } }),
    call('get', '/v1/tenants/{t}/purposes', { path: { t } }),
  ]);
  const rules = (p: Schemas['Identity']['policy']) =>
    !p ? '—' : p.rules.length === 0 ? 'deny all' : h('ul', { class: 'rules' }, p.rules.map((r) =>
      h('li', {}, `${r.actions.join(', ')} on ${list(r.collections)} / fields ${list(r.fields)} for ${r.purposes.join(', ')}${r.transform === 'plain' ? '' : ' (masked)'}`)));
  return [
    table('Identities', [
      { label: 'Name', value: (i) => i.name },
      { label: 'Role', value: (i) => i.role },
      { label: 'Id', value: (i) => h('code', {}, i.id) },
      { label: 'Created', value: (i) => time(i.created_at) },
      { label: 'State', value: (i) => (i.deactivated_at ? badge('deactivated', 'warn') : badge('active', 'ok')) },
      { label: 'Policy', value: (i) => (i.role === 'tenant-admin' ? 'everything in the tenant' : rules(i.policy)) },
    ], identities),
    table('Purposes', [
      { label: 'Purpose', value: (p) => p.id },
      { label: 'Category', value: (p) => p.category },
      { label: 'Consent', value: (p) => (p.requires_consent ? 'required' : 'not needed') },
      { label: 'Description', value: (p) => p.description || '—' },
    ], purposes),
  ];
}

async function lockbox(ctx: Ctx) {
  const t = tenantOf(ctx);
  const out = h('div', { 'aria-live': 'polite' });
  const render = async () => {
    const { lockbox_requests: requests } = await call('get', '/v1/tenants/{t}/lockbox-requests', { path: { t } });
    const decide = (id: string, how: 'approve' | 'deny') => () => void attempt(out, async () => {
      const path = { t, id };
      if (how === 'approve') await call('post', '/v1/tenants/{t}/lockbox-requests/{id}/approve', { path });
      else await call('post', '/v1/tenants/{t}/lockbox-requests/{id}/deny', { path });
      return render();
    });
    const stateTone = { pending: 'warn', approved: 'ok', denied: 'info', expired: 'info' } as const;
    return table('Operator access requests', [
      { label: 'Requested', value: (r) => time(r.created_at) },
      { label: 'By', value: (r) => h('code', {}, r.requested_by) },
      { label: 'Reason', value: (r) => r.reason },
      { label: 'Scope', value: (r) => `collections: ${list(r.scope.collections)}; principals: ${list(r.scope.principals)}` },
      { label: 'For', value: (r) => r.duration },
      { label: 'State', value: (r) => [badge(r.state, stateTone[r.state]), r.expires_at ? [' until ', time(r.expires_at)] : null] },
      { label: 'Decision', value: (r) => r.state === 'pending'
          ? [button('Approve', decide(r.id, 'approve'), { 'aria-label': `Approve request ${r.id}` }), ' ',
             button('Deny', decide(r.id, 'deny'), { 'aria-label': `Deny request ${r.id}` })]
          : r.decided_at ? time(r.decided_at) : '—' },
    ], requests);
  };
  replace(out, await render());
  return [h('p', {}, 'Operators read your data only under a request you approve, in its scope, until it expires.'), out];
}

async function notifications(ctx: Ctx) {
  const t = tenantOf(ctx);
  const { notifications } = await call('get', '/v1/tenants/{t}/notifications', { path: { t } });
  return table('Notifications', [
    { label: 'When', value: (n) => time(n.created_at) },
    { label: 'Type', value: (n) => n.type },
    { label: 'Details', value: (n) => h('code', {}, JSON.stringify(n.payload)) },
    { label: 'Delivered', value: (n) => (n.delivered_at ? time(n.delivered_at) : n.dead_lettered_at ? badge('undeliverable', 'bad') : 'not yet') },
  ], notifications);
}

async function disclosures(ctx: Ctx) {
  const t = tenantOf(ctx);
  const { disclosures } = await call('get', '/v1/tenants/{t}/disclosures', { path: { t } });
  return [
    h('p', {}, 'Legally binding disclosures of your data, shown once any non-disclosure period has ended.'),
    table('Disclosures', [
      { label: 'Authority', value: (d) => d.authority.name },
      { label: 'Instrument', value: (d) => `${d.instrument.type} ${d.instrument.reference} (${d.instrument.jurisdiction})` },
      { label: 'Principals', value: (d) => list(d.scope.principals) },
      { label: 'State', value: (d) => d.state },
      { label: 'Received', value: (d) => time(d.created_at) },
      { label: 'Fulfilled', value: (d) => time(d.disclosure?.fulfilled_at) },
    ], disclosures),
  ];
}

async function certificates(ctx: Ctx) {
  const t = tenantOf(ctx);
  const { certificates } = await call('get', '/v1/tenants/{t}/certificates', { path: { t } });
  if (certificates.length === 0) return h('p', { class: 'empty' }, 'Certificates: none.');
  return certificates.map((c) => h('section', { class: 'card' }, certificateFacts(c)));
}

export const tenantViews: View[] = [
  { id: 'locations', title: 'Where your data is', render: locations },
  { id: 'records', title: 'Records', render: records },
  { id: 'principal', title: 'Principal', render: principal },
  { id: 'access', title: 'Identities and policies', render: access },
  { id: 'lockbox', title: 'Lockbox requests', render: lockbox },
  { id: 'notifications', title: 'Notifications', render: notifications },
  { id: 'disclosures', title: 'Disclosures', render: disclosures },
  { id: 'certificates', title: 'Certificates', render: certificates },
  { id: 'audit', title: 'Audit log', render: (ctx) => auditView({ kind: 'tenant', tenant: tenantOf(ctx) }) },
];
