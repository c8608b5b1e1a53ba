// The web console in headless Chromium (the system's /usr/bin/chromium, or
// $CHROMIUM) against a real `piivault serve` with seeded data:
//   - each role signs in (by keyboard) and walks every view of its
//     navigation; each view is screenshotted at 1440 and 360 px and checked
//     by axe-core (no serious or critical violation);
//   - the tenant-admin searches records, opens a principal's consent
//     ledger, exports a principal (the downloaded file holds its data),
//     erases another, approves a lockbox request, filters the
//     audit log and verifies it in the page; then one stored audit row is
//     tampered with and the page names the first bad entry;
//   - a tenant-app sees the values its policy masks masked;
//   - the auditor downloads the report and verifies the tenant's and the
//     operator's logs; the
//     operators see tenants, incidents, sub-processors, disclosure requests;
//   - every response under /console/ carries the CSP, which blocks inline
//     script; no request leaves the origin or carries seeded PII in its URL;
//     the API key is in sessionStorage only, and gone after sign-out;
//   - every JSON answer of the API the console receives matches the schema
//     the OpenAPI document (src/api/openapi.json) gives for its operation and
//     status: the server and the console's generated types cannot drift.
//
//   node console_test.mjs PIIVAULT_BINARY ARTEFACT_DIR
// Prints PASS or FAIL with the reasons; exits non-zero on failure.
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, startPiivault } from './piivault_server.mjs';

const [piivault, outDir] = process.argv.slice(2);
if (!piivault || !outDir) {
  console.error('usage: node console_test.mjs PIIVAULT_BINARY ARTEFACT_DIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  return ok;
};

// The personal data the test seeds: none of it may appear in a URL.
const people = [
  { principal: 'P-1001', region: 'eu', email: 'ada.lovelace@example.org', name: 'Ada Lovelace', phone: '+442071234567' },
  { principal: 'P-1002', region: 'eu', email: 'grace.hopper@example.org', name: 'Grace Hopper', phone: '+4930123456' },
  { principal: 'P-1003', region: 'us', email: 'alan.turing@example.org', name: 'Alan Turing', phone: '+12025550123' },
];
const pii = people.flatMap((p) => [p.email, p.name, p.phone, p.name.split(' ')[1]]);

// The contract, and a validator of an API answer against it.
const contract = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../src/api/openapi.json'), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(contract, 'openapi.json');
const templates = Object.keys(contract.paths).map((t) => ({
  template: t,
  pattern: new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  literal: t.replace(/\{[^}]+\}/g, '').length,
}));
const schemaChecks = { validated: 0 };
async function checkAgainstContract(role, response) {
  const url = new URL(response.url());
  if (!url.pathname.startsWith('/v1/')) return;
  if (!(response.headers()['content-type'] || '').startsWith('application/json')) return;
  const method = response.request().method().toLowerCase();
  // The most specific template that matches (literal segments win).
  const match = templates.filter((t) => t.pattern.test(url.pathname)).sort((a, b) => b.literal - a.literal)[0];
  const operation = match && contract.paths[match.template][method];
  if (!check(Boolean(operation), `${role}: ${method.toUpperCase()} ${url.pathname} is not in the OpenAPI document`)) return;
  const status = String(response.status());
  const declared = operation.responses[status];
  if (!check(Boolean(declared), `${role}: ${method.toUpperCase()} ${match.template} answered ${status}, which the document does not list`)) return;
  // A shared response ($ref into components/responses) has its schema there.
  const at = declared.$ref ?? `#/${['paths', match.template, method, 'responses', status]
    .map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;
  let validate;
  try {
    validate = ajv.getSchema(`openapi.json${at}/content/application~1json/schema`);
  } catch {
    validate = undefined; // the document declares no JSON body there
  }
  if (!check(Boolean(validate), `${role}: no JSON schema for ${method.toUpperCase()} ${match.template} ${status}`)) return;
  let body;
  try {
    body = await response.json();
  } catch {
    return; // a download the page consumed as a Blob
  }
  schemaChecks.validated++;
  check(validate(body), `${role}: ${method.toUpperCase()} ${match.template} ${status} does not match the document: ${ajv.errorsText(validate.errors)}`);
}

async function seed(base, operatorKey) {
  const op = (m, p, b) => api(base, operatorKey, m, p, b);
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  await op('POST', '/v1/tenants', { id: 'acme', name: 'Acme GmbH', regions: ['eu', 'us'], default_region: 'eu' });
  const keys = {
    'tenant-admin': (await op('POST', '/v1/tenants/acme/identities', { name: 'acme-admin', role: 'tenant-admin' })).api_key,
    auditor: (await op('POST', '/v1/identities', { name: 'external-auditor', role: 'auditor' })).api_key,
    'operator-admin': operatorKey,
    'operator-legal': (await op('POST', '/v1/identities', { name: 'legal-1', role: 'operator-legal' })).api_key,
    'operator-security': (await op('POST', '/v1/identities', { name: 'security-1', role: 'operator-security' })).api_key,
  };
  const admin = (m, p, b, purpose) => api(base, keys['tenant-admin'], m, p, b, purpose);
  await admin('PUT', '/v1/tenants/acme/collections/people', {
    fields: [
      { name: 'email', type: 'email', required: true, searchable: true },
      { name: 'name', type: 'name' },
      { name: 'phone', type: 'phone' },
    ],
  });
  for (const p of people)
    await admin('POST', '/v1/tenants/acme/collections/people/records',
      { principal: p.principal, region: p.region, fields: { email: p.email, name: p.name, phone: p.phone } }, 'service_delivery');
  await admin('POST', '/v1/tenants/acme/principals/P-1001/consents',
    { purpose: 'marketing', granted: true, method: 'web form', evidence: 'signup form v3' });
  keys['tenant-app'] = (await admin('POST', '/v1/tenants/acme/identities', {
    name: 'support-app', role: 'tenant-app',
    policy: { rules: [
      { purposes: ['service_delivery'], collections: ['people'], fields: ['email'], actions: ['read', 'search'], transform: 'plain' },
      { purposes: ['service_delivery'], collections: ['people'], fields: ['name', 'phone'], actions: ['read', 'search'], transform: 'mask' },
    ] },
  })).api_key;
  await op('POST', '/v1/tenants/acme/lockbox-requests',
    { reason: 'Ticket 4711: restore check', scope: { collections: ['people'] }, duration: 'PT2H' });
  await op('POST', '/v1/sub-processors', {
    id: 'mailer', name: 'Mailer GmbH', service: 'email delivery', purpose: 'transactional email',
    countries: ['DE'], regions: ['eu'], effective_at: iso(now + 31 * 86400e3),
  });
  await api(base, keys['operator-security'], 'POST', '/v1/incidents', {
    title: 'Misrouted backup copy', description: 'A backup was copied to the wrong bucket',
    detected_at: iso(now - 3600e3), pii_breach: true, affected: { tenants: ['acme'] },
  });
  await api(base, keys['operator-legal'], 'POST', '/v1/disclosure-requests', {
    tenant: 'acme', authority: 'Amtsgericht Berlin',
    instrument: { type: 'court_order', reference: 'AZ 12/345', jurisdiction: 'DE', legally_binding: true },
    scope: { principals: ['P-1003'] },
  });
  return keys;
}

// Waits until no view or action is loading.
const settle = (page) => page.waitForFunction(() => !document.querySelector('[aria-busy]'), null, { timeout: 30000 });

// Follows the navigation link to `view` by keyboard (focus, Enter) and
// waits for that view — titled as its link — to have loaded.
async function open(page, view) {
  const link = `nav a[href="#/${view}"]`;
  const title = await page.textContent(link);
  await page.focus(link);
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    (t) => document.querySelector('main h1')?.textContent === t && !document.querySelector('[aria-busy]'),
    title, { timeout: 30000 });
}

async function signIn(page, base, key) {
  await page.goto(`${base}/console/`, { waitUntil: 'load' });
  // By keyboard: the field has focus, Enter submits.
  await page.waitForSelector('#api-key:focus');
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await page.waitForSelector('nav a');
  await settle(page);
}

async function screenshotsAndAxe(page, role, view) {
  for (const width of [1440, 360]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(outDir, `${role}-${view}-${width}.png`), fullPage: true });
    const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    for (const v of violations.filter((x) => x.impact === 'serious' || x.impact === 'critical'))
      failures.push(`${role}/${view} at ${width}px: axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

// Signs in as `role` and visits every view of its navigation, running
// `during[view]` on the view before its screenshots.
async function walk(browser, base, role, key, during = {}) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const origin = new URL(base).origin;
  const urls = [];
  page.on('request', (r) => urls.push(r.url()));
  const pending = [];
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/console'))
      check(Boolean(r.headers()['content-security-policy']), `${role}: no CSP on ${url.pathname}`);
    pending.push(checkAgainstContract(role, r));
  });
  let expectRefusal = false; // while checking that the CSP blocks inline script
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // A role's refused API call (403) is the API deciding, shown as such.
    if (/status of 403/.test(text)) return;
    if (expectRefusal && /Content Security Policy/.test(text)) return;
    failures.push(`${role}: console error: ${text}`);
  });
  page.on('pageerror', (e) => failures.push(`${role}: page error: ${e}`));

  await signIn(page, base, key);
  const storage = await page.evaluate(() => ({
    session: Object.keys(sessionStorage), local: localStorage.length, cookie: document.cookie,
  }));
  check(storage.session.includes('piivault.api_key') && storage.local === 0 && storage.cookie === '',
    `${role}: the key must be in sessionStorage only (${JSON.stringify(storage)})`);

  expectRefusal = true;
  const inline = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.body.append(s);
    return window.__inlineRan === true;
  });
  expectRefusal = false;
  check(!inline, `${role}: an inline script ran: the CSP does not block it`);

  const views = await page.$$eval('nav a', (as) => as.map((a) => a.getAttribute('href').replace('#/', '')));
  check(views.length > 0, `${role}: no views in the navigation`);
  for (const view of views) {
    await open(page, view);
    check(await page.isVisible('main h1'), `${role}/${view}: no heading`);
    // A view may only fail because the API refuses the role (403, shown
    // as such); any other error fails the test.
    const errors = await page.$$eval('main .error', (els) => els.map((e) => e.textContent));
    const refused = errors.filter((e) => e.startsWith('Not allowed for this identity. (403 permission_denied'));
    check(refused.length === errors.length, `${role}/${view}: ${errors.join('; ')}`);
    if (during[view]) {
      try {
        await during[view](page);
        await settle(page);
      } catch (e) {
        failures.push(`${role}/${view}: ${e.message.split('\n')[0]}`);
      }
    }
    await screenshotsAndAxe(page, role, view);
  }

  for (const u of urls) {
    const url = new URL(u);
    check(url.origin === origin || url.protocol === 'blob:' || url.protocol === 'data:', `${role}: a request left the origin: ${u}`);
    const text = decodeURIComponent(url.pathname + url.search).toLowerCase();
    for (const value of pii) check(!text.includes(value.toLowerCase()), `${role}: PII in a URL: ${url.pathname}${url.search}`);
  }

  await Promise.all(pending);
  await page.click('header button:has-text("Sign out")');
  await page.waitForSelector('#api-key');
  const after = await page.evaluate(() => sessionStorage.length);
  check(after === 0, `${role}: sessionStorage holds ${after} item(s) after sign-out`);
  await context.close();
  return views;
}

const textOf = (page, selector) => page.$eval(selector, (e) => e.textContent);

async function main() {
  let server;
  let browser;
  try {
    server = await startPiivault(piivault);
    const { base, dir } = server;
    const keys = await seed(base, server.operatorKey);
    const admin = (m, p, b, purpose) => api(base, keys['tenant-admin'], m, p, b, purpose);

    const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
    const args = process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [];
    browser = await chromium.launch({ executablePath, args, headless: true, timeout: 60000 });

    // The tenant-admin.
    const tenantViews = await walk(browser, base, 'tenant-admin', keys['tenant-admin'], {
      locations: async (page) => {
        const text = await textOf(page, 'main');
        check(/eu \(AT, BE/.test(text) && text.includes('2 records, 2 principals'), 'locations: eu with 2 records and 2 principals not shown');
        check(text.includes('1 record, 1 principal'), 'locations: us with 1 record not shown');
      },
      records: async (page) => {
        const search = async () => {
          await page.selectOption('#search-field', 'email');
          await page.fill('#search-value', people[0].email);
          await page.selectOption('#search-purpose', 'service_delivery');
          await page.click('form[aria-label="Search records"] button[type=submit]');
          await settle(page);
        };
        await search();
        const text = await textOf(page, 'main');
        check(text.includes(people[0].name) && text.includes('P-1001'), 'records: the search did not show the matching record');
        check(!text.includes(people[1].name), 'records: the search showed a record that does not match');
        // From the result to the principal's view, the id kept out of the address.
        await page.click('button[aria-label="Open principal P-1001"]');
        await page.waitForFunction(() => location.hash === '#/principal' &&
          document.querySelector('main h1')?.textContent === 'Principal' && !document.querySelector('[aria-busy]'));
        check((await textOf(page, 'main')).includes('Consent ledger'), 'records: Open did not show the principal');
        check((await page.inputValue('#principal-purpose')) === 'service_delivery', 'records: Open lost the purpose');
        await open(page, 'records');
        await search(); // for the screenshots
      },
      principal: async (page) => {
        await page.fill('#principal-id', 'P-1001');
        await page.selectOption('#principal-purpose', 'service_delivery');
        await page.click('form[aria-label="Open a principal"] button[type=submit]');
        await settle(page);
        let text = await textOf(page, 'main');
        check(text.includes('Consent ledger') && text.includes('signup form v3') && text.includes('web form'),
          'principal: the consent ledger is not shown');
        check(text.includes(people[0].email), "principal: the principal's record is not shown");
        // Export: a JSON file of everything held about the principal.
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export (JSON)")')]);
        const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
        check(exported.format === 'piivault-principal-export-v1' && exported.principal === 'P-1001' &&
          JSON.stringify(exported.records).includes(people[0].email), 'principal: the export file is not the principal\'s data');
        await settle(page);
        // Erase another principal through the page.
        await page.fill('#principal-id', 'P-1002');
        await page.click('form[aria-label="Open a principal"] button[type=submit]');
        await settle(page);
        await page.click('button:has-text("Erase…")');
        await page.click('button:has-text("Erase permanently")');
        await settle(page);
        text = await textOf(page, 'main');
        check(text.includes('Erased. Certificate:') && text.includes('principal erasure'), 'principal: no erasure certificate shown');
        check(!text.includes(people[1].email), 'principal: the erased data is still shown');
        const gone = await fetch(`${base}/v1/tenants/acme/principals/P-1002`, {
          headers: { Authorization: `Bearer ${keys['tenant-admin']}`, 'X-Purpose': 'service_delivery' },
        });
        check(gone.status === 404, `principal: P-1002 is still there after the erasure (${gone.status})`);
      },
      lockbox: async (page) => {
        await page.click('button:has-text("Approve")');
        await settle(page);
        check((await textOf(page, 'main')).includes('approved'), 'lockbox: the request is not shown approved');
        const { lockbox_requests } = await admin('GET', '/v1/tenants/acme/lockbox-requests');
        check(lockbox_requests.length === 1 && lockbox_requests[0].state === 'approved',
          `lockbox: the server has the request ${lockbox_requests[0]?.state}, not approved`);
      },
      certificates: async (page) => {
        check((await textOf(page, 'main')).includes('principal erasure'), 'certificates: the erasure certificate is not listed');
      },
      audit: async (page) => {
        // Filters: by purpose, then by principal (its events only).
        await page.fill('#f-purpose', 'service_delivery');
        await page.click('form[aria-label="Filter audit events"] button[type=submit]');
        await settle(page);
        const purposes = await page.$$eval('main td[data-label="Purpose"]', (tds) => tds.map((t) => t.textContent));
        check(purposes.length >= 4 && purposes.every((p) => p === 'service_delivery'),
          `audit: the purpose filter showed ${JSON.stringify(purposes)}`);
        await page.fill('#f-purpose', '');
        await page.fill('#f-principal', 'P-1001');
        await page.click('form[aria-label="Filter audit events"] button[type=submit]');
        await settle(page);
        const subjects = await page.$$eval('main td[data-label="Subjects"]', (tds) => tds.map((t) => t.textContent));
        check(subjects.length >= 2 && subjects.every((s) => !s.includes(' 0 principal')),
          `audit: the principal filter showed ${JSON.stringify(subjects)}`);
        // One entry's inclusion proof.
        await page.click('main td[data-label="Proof"] button');
        await settle(page);
        check((await textOf(page, 'main td[data-label="Proof"]')).includes('included'), 'audit: an entry did not prove its inclusion');
        // The whole log, in the page.
        await page.click('button:has-text("Verify the log")');
        await page.waitForSelector('[data-verdict]', { timeout: 60000 });
        check((await page.getAttribute('[data-verdict]', 'data-verdict')) === 'verified',
          `audit: the intact log did not verify: ${await textOf(page, '[data-verdict]')}`);
      },
    });
    check(tenantViews.length === 9, `tenant-admin: expected 9 views, got ${tenantViews.join(', ')}`);

    // Tampering: one stored entry of the tenant's log is changed in the
    // control store; the page must name it.
    {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      await signIn(page, base, keys['tenant-admin']);
      await open(page, 'audit');
      await page.click('button:has-text("Verify the log")');
      await page.waitForSelector('[data-verdict]', { timeout: 60000 });
      check((await page.getAttribute('[data-verdict]', 'data-verdict')) === 'verified', 'tamper: the log did not verify before tampering');
      // The log grows; verified again, the page proves it only grew since
      // the head it verified (a consistency proof between the two heads).
      await admin('POST', '/v1/tenants/acme/principals/P-1001/consents', { purpose: 'analytics', granted: true });
      await page.click('button:has-text("Verify the log")');
      await page.waitForSelector('[data-verdict]:has-text("only grew since")', { timeout: 60000 });
      const changed = execFileSync('sqlite3', [join(dir, 'control.db'),
        ".timeout 10000",
        "UPDATE kv SET v = CAST('forged entry' AS BLOB) WHERE k = CAST('audit/t/acme/e/0000000000000003' AS BLOB); SELECT changes();"]).toString().trim();
      check(changed === '1', `tamper: the stored row was not changed (${changed})`);
      await page.click('button:has-text("Verify the log")');
      await page.waitForSelector('[data-verdict="failed"]', { timeout: 60000 });
      const verdict = await textOf(page, '[data-verdict]');
      check((await page.getAttribute('[data-verdict]', 'data-verdict')) === 'failed', 'tamper: the tampered log verified');
      check((await page.getAttribute('[data-verdict]', 'data-first-bad')) === '3' && verdict.includes('#3'),
        `tamper: the page did not name entry 3 as the first bad one: ${verdict}`);
      await page.screenshot({ path: join(outDir, 'tenant-admin-audit-tampered-1440.png'), fullPage: true });
      await context.close();
    }

    // A tenant-app whose policy masks the name and phone: its search finds
    // the record, and the page shows those two masked.
    await walk(browser, base, 'tenant-app', keys['tenant-app'], {
      records: async (page) => {
        await page.selectOption('#search-field', 'email');
        await page.fill('#search-value', people[0].email);
        await page.selectOption('#search-purpose', 'service_delivery');
        await page.click('form[aria-label="Search records"] button[type=submit]');
        await settle(page);
        const text = await textOf(page, 'main');
        const cells = await page.$$eval('main table:has(caption:text-matches("Records matching")) td[data-label]', (tds) => Object.fromEntries(tds.map((t) => [t.dataset.label, t.textContent])));
        check(cells.email === people[0].email, `tenant-app: the search did not show the record's e-mail (${JSON.stringify(cells)})`);
        check(cells.name && cells.phone && !text.includes(people[0].name) && !text.includes(people[0].phone),
          `tenant-app: a value its policy masks was not shown masked (${JSON.stringify(cells)})`);
      },
      locations: async (page) => check((await textOf(page, 'main')).includes('Not allowed for this identity'), 'tenant-app: locations should be refused by the API'),
    });

    // The auditor.
    const auditorViews = await walk(browser, base, 'auditor', keys.auditor, {
      soa: async (page) => {
        const text = await textOf(page, 'main');
        check(text.includes('ISO/IEC 27018:2019') && text.includes('A.12.1'), 'soa: the controls are not shown');
        await page.check('#only-nonconformities');
      },
      report: async (page) => {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download the report")')]);
        const html = readFileSync(await download.path(), 'utf8');
        check(html.includes('ISO/IEC 27018') && html.includes('A.12.1'), 'report: the downloaded report is not the SoA');
        await settle(page);
      },
      logs: async (page) => {
        check((await textOf(page, 'main')).includes('Tenant acme'), "logs: the tenant's log is not listed");
        for (const label of ['Verify the operator log']) {
          const panel = page.locator('section.verify', { hasText: label });
          await panel.locator('button').click();
          await panel.locator('[data-verdict]').waitFor({ timeout: 60000 });
          check((await panel.locator('[data-verdict]').getAttribute('data-verdict')) === 'verified', `logs: ${label}: not verified`);
        }
        // The tenant's log was tampered with above: the auditor sees it too.
        const panel = page.locator('section.verify', { hasText: 'Verify tenant acme' });
        await panel.locator('button').click();
        await panel.locator('[data-verdict]').waitFor({ timeout: 60000 });
        check((await panel.locator('[data-verdict]').getAttribute('data-first-bad')) === '3', 'logs: the auditor was not shown entry 3 as bad');
      },
    });
    check(auditorViews.includes('soa') && auditorViews.includes('logs'), `auditor: views ${auditorViews.join(', ')}`);

    // The operators.
    const operatorViews = await walk(browser, base, 'operator-admin', keys['operator-admin'], {
      tenants: async (page) => check(/acme\s*Acme GmbH/.test(await textOf(page, 'main')) && (await textOf(page, 'main')).includes('active'), 'tenants: acme is not listed as active'),
      'sub-processors': async (page) => check((await textOf(page, 'main')).includes('Mailer GmbH'), 'sub-processors: the seeded one is missing'),
      incidents: async (page) => {
        const text = await textOf(page, 'main');
        check(text.includes('Misrouted backup copy') && text.includes('acme'), 'incidents: the incident or its tenant is missing');
      },
      'disclosure-requests': async (page) => check((await textOf(page, 'main')).includes('Not allowed for this identity'), 'disclosure-requests: operator-admin should be refused by the API'),
    });
    check(operatorViews.includes('tenants') && operatorViews.includes('jobs'), `operator-admin: views ${operatorViews.join(', ')}`);
    await walk(browser, base, 'operator-security', keys['operator-security'], {
      incidents: async (page) => {
        const text = await textOf(page, 'main');
        check(text.includes('Misrouted backup copy') && /acme: pending by/.test(text), 'incidents: the incident and its pending notification are missing');
      },
    });
    await walk(browser, base, 'operator-legal', keys['operator-legal'], {
      'disclosure-requests': async (page) => {
        const text = await textOf(page, 'main');
        check(text.includes('Amtsgericht Berlin') && text.includes('court_order AZ 12/345'), 'disclosure-requests: the request is missing');
      },
    });
    // The schema check saw the API's answers (not a vacuous pass).
    check(schemaChecks.validated >= 50, `only ${schemaChecks.validated} API answers were checked against the document`);
  } finally {
    if (browser) await browser.close();
    if (server) server.stop();
  }
}

main().then(
  () => {
    if (failures.length) {
      console.log(`FAIL\n  ${failures.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`PASS: every role walked its views; ${schemaChecks.validated} API answers matched the OpenAPI document; screenshots in ${outDir}`);
  },
  (e) => {
    console.log(`FAIL: ${e.stack || e}`);
    process.exit(1);
  },
);
