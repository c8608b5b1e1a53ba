// Renders a compliance report page in headless Chromium (the system's
// /usr/bin/chromium, or $CHROMIUM) and checks what a reader gets:
//   - the page loads from its file alone: no other request is made;
//   - it holds no script (no <script>, no event handler attribute, no
//     javascript: URL) and none runs;
//   - its visible text shows every control id and status of the SoA it was
//     rendered from, and its declarations' texts (markup in them as text);
//   - it prints (a PDF is made with print styles).
// Saves a full-page screenshot (and the PDF beside it) as artefacts.
//
//   node report_render.mjs REPORT.html SOA.json SCREENSHOT.png
// Prints PASS or FAIL with the reasons; exits non-zero on failure.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [htmlPath, soaPath, pngPath] = process.argv.slice(2);
if (!htmlPath || !soaPath || !pngPath) {
  console.error('usage: node report_render.mjs REPORT.html SOA.json SCREENSHOT.png');
  process.exit(2);
}

const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

async function main() {
  const soa = JSON.parse(readFileSync(soaPath, 'utf8'));
  const url = pathToFileURL(resolve(htmlPath)).href;
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  const args = process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [];
  const browser = await chromium.launch({ executablePath, args, headless: true, timeout: 60000 });
  try {
    const page = await browser.newPage();
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => pageErrors.push(`console: ${m.text()}`));

    const response = await page.goto(url, { waitUntil: 'load', timeout: 30000 });
    check(response !== null, 'the page did not load');

    const others = requests.filter((r) => r !== url);
    check(others.length === 0, `requests other than the file itself: ${others.join(', ')}`);
    check(pageErrors.length === 0, `the page logged or threw: ${pageErrors.join('; ')}`);

    const scripting = await page.evaluate(() => {
      const handlers = [];
      for (const el of document.querySelectorAll('*')) {
        for (const a of el.attributes) {
          if (a.name.startsWith('on')) handlers.push(`${el.tagName}[${a.name}]`);
          if (/^\s*javascript:/i.test(a.value)) handlers.push(`${el.tagName}[${a.name}=javascript:]`);
        }
      }
      return { scripts: document.scripts.length, handlers };
    });
    check(scripting.scripts === 0, `the page has ${scripting.scripts} script element(s)`);
    check(scripting.handlers.length === 0, `event handlers or javascript: URLs: ${scripting.handlers.join(', ')}`);

    const text = await page.innerText('body');
    for (const c of soa.controls) {
      check(text.includes(c.id), `control ${c.id} is not in the visible text`);
      check(text.includes(c.status), `status ${c.status} (of ${c.id}) is not in the visible text`);
    }
    for (const nc of soa.nonconformities || []) {
      for (const reason of nc.reasons || []) {
        check(text.includes(reason), `the reason "${reason}" of the nonconformity of ${nc.control} is not shown`);
      }
      check((nc.reasons || []).length > 0, `the nonconformity of ${nc.control} has no reason`);
    }
    for (const d of soa.declarations || []) {
      check(text.includes(d.text), `the declaration text of ${d.control} is not shown as text`);
    }
    check(text.includes(soa.standard), 'the standard is not shown');
    // null until an external audit is recorded: then the label stands alone.
    check(text.includes(soa.next_audit_due ?? 'Next audit due'), 'next_audit_due is not shown');

    mkdirSync(dirname(resolve(pngPath)), { recursive: true });
    await page.screenshot({ path: pngPath, fullPage: true });
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ path: pngPath.replace(/\.png$/, '') + '.pdf', format: 'A4' });
    check(pdf.length > 1000, 'printing to PDF gave an empty document');
    check(requests.every((r) => r === url), 'printing made a request');
  } finally {
    await browser.close();
  }
}

main().then(
  () => {
    if (failures.length === 0) {
      console.log(`PASS: ${htmlPath} rendered in headless Chromium; screenshot ${pngPath}`);
      process.exit(0);
    }
    console.log(`FAIL: ${htmlPath}`);
    for (const f of failures) console.log(`  - ${f}`);
    process.exit(1);
  },
  (err) => {
    console.log(`FAIL: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
