// The operator's views: tenants and their state, sub-processors, incidents
// and their deadlines, legal disclosure requests, jobs, and the operator's
// own audit log. Each operator role sees what the API lets it; the rest
// says so.
import { call } from '../api';
import type { View } from '../app';
import { badge, h, list, table, time } from '../dom';
import { auditView } from './audit';

async function tenants() {
  const { tenants } = await call('get', '/v1/tenants');
  return table('Tenants', [
    { label: 'Tenant', value: (t) => [h('strong', {}, t.id), ` ${t.name}`] },
    { label: 'State', value: (t) => badge(t.state, t.state === 'active' ? 'ok' : t.state === 'terminating' ? 'warn' : 'info') },
    { label: 'Regions', value: (t) => `${list(t.regions)} (default ${t.default_region})` },
    { label: 'Created', value: (t) => time(t.created_at) },
    { label: 'Disposal due', value: (t) => time(t.disposal_due_at) },
  ], tenants);
}

async function subProcessors() {
  const { sub_processors } = await call('get', '/v1/sub-processors');
  return table('Sub-processors', [
    { label: 'Id', value: (s) => s.id },
    { label: 'Name', value: (s) => s.name },
    { label: 'Service', value: (s) => s.service },
    { label: 'Purpose', value: (s) => s.purpose },
    { label: 'Countries', value: (s) => list(s.countries) },
    { label: 'Regions', value: (s) => list(s.regions) },
    { label: 'Effective', value: (s) => time(s.effective_at) },
    { label: 'State', value: (s) => (s.removed_at ? [badge('removed', 'info'), ' ', time(s.removed_at)] : badge('in use', 'ok')) },
  ], sub_processors);
}

async function incidents() {
  const { incidents } = await call('get', '/v1/incidents');
  return table('Incidents', [
    { label: 'Title', value: (i) => i.title },
    { label: 'Detected', value: (i) => time(i.detected_at) },
    { label: 'PII breach', value: (i) => (i.pii_breach ? badge('yes', 'bad') : 'no') },
    { label: 'State', value: (i) => i.state },
    { label: 'Deadline', value: (i) => [time(i.deadline), i.overdue ? [' ', badge('overdue', 'bad')] : null] },
    { label: 'Tenants notified', value: (i) => i.notifications.length === 0 ? '—' : h('ul', {}, i.notifications.map((n) =>
        h('li', {}, `${n.tenant}: `, n.state === 'notified' ? ['notified ', time(n.notified_at)] : [badge(n.overdue ? 'overdue' : 'pending', n.overdue ? 'bad' : 'warn'), ' by ', time(n.deadline)]))) },
  ], incidents);
}

async function disclosureRequests() {
  const { disclosure_requests } = await call('get', '/v1/disclosure-requests');
  return table('Legal disclosure requests', [
    { label: 'Tenant', value: (d) => d.tenant },
    { label: 'Authority', value: (d) => d.authority.name },
    { label: 'Instrument', value: (d) => `${d.instrument.type} ${d.instrument.reference} (${d.instrument.jurisdiction})${d.instrument.legally_binding ? '' : ', not legally binding'}` },
    { label: 'State', value: (d) => d.state },
    { label: 'Received', value: (d) => time(d.created_at) },
    { label: 'Non-disclosure until', value: (d) => time(d.nondisclosure_until) },
    { label: 'Tenant told', value: (d) => time(d.tenant_notified_at) },
  ], disclosure_requests);
}

async function jobs() {
  const { jobs } = await call('get', '/v1/jobs');
  return table('Jobs', [
    { label: 'Kind', value: (j) => j.kind },
    { label: 'State', value: (j) => badge(j.state, j.state === 'failed' ? 'bad' : j.state === 'completed' ? 'ok' : 'info') },
    { label: 'Due', value: (j) => time(j.due_at) },
    { label: 'Progress', value: (j) => `${j.progress.done} / ${j.progress.total}` },
    { label: 'Attempts', value: (j) => String(j.attempts) },
    { label: 'Finished', value: (j) => time(j.finished_at) },
    { label: 'Error', value: (j) => j.error ?? '—' },
  ], jobs);
}

export const operatorViews: View[] = [
  { id: 'tenants', title: 'Tenants', render: tenants },
  { id: 'sub-processors', title: 'Sub-processors', render: subProcessors },
  { id: 'incidents', title: 'Incidents', render: incidents },
  { id: 'disclosure-requests', title: 'Disclosure requests', render: disclosureRequests },
  { id: 'jobs', title: 'Jobs', render: jobs },
  { id: 'operator-audit', title: 'Operator audit log', render: () => auditView({ kind: 'operator' }) },
];
