// The office dashboard in real headless Chromium (Debian's chromium, driven by playwright-core)
// against a real relay seeded through real phone syncs (`gridsafe-server demo`), with the demo's
// phone stores used through the `gridsafe` CLI. Screenshots go to target/browser-artifacts/.
//
// Run by scripts/test after the binaries are built; GRIDSAFE_BIN (default target/debug) names
// where they are.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const bin = process.env.GRIDSAFE_BIN ?? join(root, 'target', 'debug');
const artifacts = join(root, 'target', 'browser-artifacts');
const PASSWORD = 'gridsafe-demo';
const AFTER_PHOTO = join(root, 'examples', 'photos', 'corridor-after.jpg');
const NOTICE_PHOTO = join(root, 'examples', 'photos', 'hose-measure.jpg');

let data, port, base, relay, browser;

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
    s.on('error', fail);
  });
}

function run(cmd, args) {
  return execFileSync(join(bin, cmd), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A system tool (poppler's pdfinfo and pdftotext read the printed PDFs). */
function sys(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The `gridsafe` CLI on a demo phone's store, as its inspector. */
function phone(user, ...args) {
  return run('gridsafe', ['--store', join(data, 'phones', `phone-${user}.sqlite`), '--as', user, ...args]);
}

async function waitForRelay() {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${base}/login`);
      if (r.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`relay did not answer on ${base}`);
}

async function signIn(user) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  // Each starts on their own page: a reviewer on the to-do list, the office on the overview.
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  data = mkdtempSync(join(tmpdir(), 'gridsafe-browser-'));
  rmSync(data, { recursive: true });
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Seed through real phone syncs; the phones stay enrolled with this address.
  run('gridsafe-server', ['demo', '--data', data, '--listen', `127.0.0.1:${port}`, '--exit']);
  relay = spawn(join(bin, 'gridsafe-server'), ['serve', '--data', data, '--listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
  await waitForRelay();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  relay?.kill();
  if (data && existsSync(data)) rmSync(data, { recursive: true, force: true });
});

test('a reviewer filters the ledger, closes a claimed hazard, and the phone sees it closed after its next sync', async () => {
  // On the phone: claim the rectification of an open hazard of 规建办 (zheng's department), sync.
  const open = JSON.parse(phone('wang', '--json', 'hazards', 'list', '--open'));
  const target = open.find((h) => h.lead_depts.includes('gjb') && h.state === 'registered' && h.severity === 'general');
  assert.ok(target, `an open general hazard of gjb on wang's phone: ${JSON.stringify(open.map((h) => [h.state, h.lead_depts]))}`);
  // The notice is served first, its signed copy photographed (rules 2: no claim before it).
  phone('wang', 'hazard', 'notify', target.id, '--photo', NOTICE_PHOTO);
  phone('wang', 'hazard', 'claim', target.id, '--photo', AFTER_PHOTO);
  phone('wang', 'sync');

  const page = await signIn('zheng');
  assert.equal(new URL(page.url()).pathname, '/todo', 'a reviewer starts on the to-do list');
  assert.ok(await page.locator(`h2#claims + table a[href="/hazards/${target.id}"]`).isVisible(), 'the claim waits for review');
  assert.match(await page.textContent('#menu-todo'), /待办/);
  await shot(page, '00-todo-reviewer');
  await page.click('header a[href="/overview"]');
  await shot(page, '01-overview-reviewer');
  await page.click('header a[href="/hazards"]');
  await page.selectOption('select[name=state]', 'rectified_claimed');
  await page.click('#filter');
  await page.waitForURL(/state=rectified_claimed/);
  assert.match(await page.textContent('#count'), /共 \d+ 条/);
  await shot(page, '02-ledger-filtered');
  await page.click(`a[href="/hazards/${target.id}"]`);
  await page.waitForURL(`${base}/hazards/${target.id}`);
  assert.equal((await page.textContent('#state')).trim(), '待审核销号');
  await shot(page, '03-hazard-claimed');
  assert.equal(await page.locator('.photo .ok').count(), await page.locator('.photo').count(), 'every photo uploaded and hash-verified');
  assert.ok(await page.locator('.photo .ok').count() >= 1, 'the after photo');
  await page.selectOption('#review select[name=action]', 'close');
  await page.fill('#review textarea[name=reason]', '现场核实已整改');
  await page.click('#submit-review');
  await page.waitForURL(`${base}/hazards/${target.id}?done=close`);
  assert.equal((await page.textContent('#state')).trim(), '已销号');
  assert.match(await page.textContent('#action-message'), /已执行：审核销号/);
  await shot(page, '04-hazard-closed');

  // The phone learns it on its next sync, credited to the reviewer.
  phone('wang', 'sync');
  const shown = JSON.parse(phone('wang', '--json', 'hazards', 'show', target.id));
  assert.equal(shown.status.state, 'closed');
  const close = shown.status.history.find((e) => e.kind === 'close');
  assert.equal(close.user, 'zheng');
  assert.equal(close.applied, true);

  // The English toggle keeps the page.
  await page.click('#lang-toggle');
  await page.waitForURL(`${base}/hazards/${target.id}?done=close`);
  assert.equal((await page.textContent('#state')).trim(), 'Closed');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await shot(page, '05-hazard-english');
  await page.context().close();
});

test('the downloaded workbooks hold the numbers the relay holds', async () => {
  const page = await signIn('office');
  await page.click('header a[href="/hazards"]');
  const count = Number((await page.textContent('#count')).match(/共 (\d+) 条/)[1]);
  const [ledger] = await Promise.all([page.waitForEvent('download'), page.click('#export-xlsx')]);
  const ledgerFile = join(artifacts, 'hazards.xlsx');
  await ledger.saveAs(ledgerFile);
  const rows = JSON.parse(run('xlsx-dump', [ledgerFile]))['隐患台账'];
  assert.equal(rows[0][0], '隐患');
  assert.equal(rows.length - 1, count, 'one row per hazard on the ledger');
  const byState = JSON.parse(run('gridsafe-server', ['admin', '--data', data, 'hazards', '--json']));
  const relayTotal = byState.reduce((n, r) => n + r.count, 0);
  assert.equal(rows.length - 1, relayTotal, 'the relay\'s own count');
  const closedInSheet = rows.slice(1).filter((r) => r[6] === '已销号').length;
  const closedOnRelay = byState.filter((r) => r.state === 'closed').reduce((n, r) => n + r.count, 0);
  assert.equal(closedInSheet, closedOnRelay);

  await page.click('header a[href="/reports/monthly"]');
  await shot(page, '06-monthly-report');
  assert.equal(await page.locator('#chart-found rect').count() > 0, true, 'an SVG chart');
  const [report] = await Promise.all([page.waitForEvent('download'), page.click('#report-xlsx')]);
  const reportFile = join(artifacts, 'monthly-report.xlsx');
  await report.saveAs(reportFile);
  const summary = JSON.parse(run('xlsx-dump', [reportFile]))['汇总'];
  const server = JSON.parse(run('gridsafe-server', ['admin', '--data', data, 'report', '--user', 'office']));
  const total = summary.find((r) => r[0] === '合计');
  const t = server.totals;
  const want = [t.venues_inspected, t.found_general, t.found_major, t.on_spot, t.rectified, t.closed, t.open, t.overdue, ...t.by_source];
  assert.deepEqual(total.slice(2, 16).map(Number), want);
  assert.equal(Number((await page.textContent('#total-found')).trim()), t.found_general + t.found_major);
  await page.emulateMedia({ media: 'print' });
  await shot(page, '07-monthly-report-print');
  await page.context().close();
});

test('the notice and the monthly report print as documents: A4, page numbers, nothing cut off', async () => {
  const open = JSON.parse(phone('wang', '--json', 'hazards', 'list', '--open'));
  const page = await signIn('office');
  const pdfText = async (url, name) => {
    await page.goto(url);
    const file = join(artifacts, `${name}.pdf`);
    await page.pdf({ path: file, format: 'A4', preferCSSPageSize: true });
    const info = sys('pdfinfo', [file]);
    const pages = Number(info.match(/Pages:\s+(\d+)/)[1]);
    const size = info.match(/Page size:\s+([\d.]+) x ([\d.]+) pts/);
    assert.ok(Math.abs(Number(size[1]) - 595.28) < 2 && Math.abs(Number(size[2]) - 841.89) < 2, `A4: ${size[0]}`);
    return { pages, text: sys('pdftotext', ['-layout', file, '-']) };
  };
  const notice = await pdfText(`${base}/venues/${open[0].venue_id}/notice`, '13-notice');
  assert.match(notice.text, /隐患整改通知书/);
  assert.match(notice.text, /〔\d{4}〕第\d{4}号/, 'its number');
  assert.match(notice.text, /（盖章）/, 'the seal area, not cut off');
  assert.match(notice.text, /—\s*1\s*—/, 'page numbers at the foot');
  assert.ok(!/heping|T\d\d:\d\d:\d\d/.test(notice.text), 'no codes or ISO times');
  const report = await pdfText(`${base}/reports/monthly?no=${encodeURIComponent('吕安委办〔2026〕12号')}`, '14-monthly-report');
  assert.match(report.text, /吕安委办〔2026〕12号/);
  assert.match(report.text, /安全隐患排查整治月报/);
  assert.match(report.text, /（盖章）/);
  for (let n = 1; n <= report.pages; n += 1) {
    assert.match(report.text, new RegExp(`—\\s*${n}\\s*—`), `page ${n} of ${report.pages} numbered`);
  }
  await page.context().close();
});

test('two people set the same venue field: the later edit is kept, the other shown until the office chooses', async () => {
  const venue = JSON.parse(phone('wang', '--json', 'hazards', 'list', '--open'))[0].venue_id;
  // The grid worker, offline, corrects the responsible person's phone first…
  phone('wang', 'venue', 'edit', venue, '--owner-phone', '13900000001');
  // …and the office, a moment later, types another number on the venue's page.
  const page = await signIn('office');
  await page.goto(`${base}/venues/${venue}`);
  await page.fill('#details-form input[name=responsible_phone]', '13900000002');
  await page.click('#details-form button[type=submit]');
  await page.waitForURL(`${base}/venues/${venue}`);
  phone('wang', 'sync');
  await page.reload();
  const conflict = page.locator('form.conflict');
  assert.equal(await conflict.count(), 1, 'the conflict is shown');
  const text = await conflict.textContent();
  assert.match(text, /王建国/);
  assert.match(text, /镇安委办值班/);
  assert.match(text, /13900000002（当前保留）/);
  await shot(page, '15-venue-conflict');
  // The office checks and keeps the worker's number: the conflict is gone, on the phone too.
  await conflict.locator('input[value="\\"13900000001\\""]').check();
  await conflict.locator('button[type=submit]').click();
  await page.waitForURL(`${base}/venues/${venue}`);
  assert.equal(await page.locator('form.conflict').count(), 0);
  await shot(page, '16-venue-resolved');
  phone('wang', 'sync');
  const shown = JSON.parse(phone('wang', '--json', 'venue', 'show', venue));
  assert.equal(JSON.stringify(shown).includes('13900000001'), true);
  await page.context().close();
});

test('an inspector cannot open another village\'s hazard', async () => {
  const wangs = JSON.parse(phone('wang', '--json', 'hazards', 'list'));
  const page = await signIn('li');
  const response = await page.goto(`${base}/hazards/${wangs[0].id}`);
  assert.equal(response.status(), 403);
  assert.equal((await page.textContent('#error-title')).trim(), '无权查看');
  await shot(page, '08-inspector-403');
  await page.goto(`${base}/hazards`);
  const ids = await page.locator('#ledger tbody a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(!ids.includes(`/hazards/${wangs[0].id}`), 'not on li\'s ledger either');
  await page.context().close();
});

test('an owner opens the notice\'s link on a phone, sends an after photo, and the department accepts it', async () => {
  const open = JSON.parse(phone('wang', '--json', 'hazards', 'list', '--open'));
  const target = open.find((h) => h.lead_depts.includes('gjb') && h.state === 'registered' && h.severity === 'general');
  assert.ok(target, 'an open hazard of gjb awaiting rectification');
  const notice = JSON.parse(phone('wang', '--json', 'venue', 'notice', target.venue_id));
  assert.ok(notice.owner_url.startsWith(`${base}/o/`), notice.owner_url);
  assert.ok(notice.hazards.some((h) => h.id === target.id));
  const printed = join(artifacts, 'notice.html');
  phone('wang', 'venue', 'notice', target.venue_id, '--out', printed);
  // Served: the owner signs, the worker photographs the signed notice and syncs.
  phone('wang', 'hazard', 'notify', target.id, '--photo', NOTICE_PHOTO);
  phone('wang', 'sync');

  // The notice as printed (the QR code is core's inline SVG).
  const office = await browser.newContext({ viewport: { width: 900, height: 1200 } });
  const paper = await office.newPage();
  await paper.goto(`file://${printed}`);
  assert.equal(await paper.locator('svg').count() >= 1, true);
  await shot(paper, '09-notice');
  await office.close();

  // The owner's phone: no login, a mobile viewport.
  const mobile = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await mobile.newPage();
  await page.goto(notice.owner_url);
  const section = page.locator('section.hazard', { has: page.locator(`input[value="${target.id}"]`) });
  await section.locator('input[name=photo]').setInputFiles(AFTER_PHOTO);
  await section.locator('textarea[name=note]').fill('已整改，请审核');
  await section.locator('button[type=submit]').click();
  await page.waitForURL(/sent=1/);
  assert.ok(await page.locator('#sent').isVisible());
  assert.match(await section.locator('.report').first().textContent(), /待审核/);
  await shot(page, '10-owner-page-mobile');
  // The venue's own self-inspection: a ticked item goes to the lead department for review.
  await page.locator('#self-check input[name=item]').first().check();
  await page.locator('#self-check button[type=submit]').click();
  await page.waitForURL(/sent=1/);

  // A tampered link shows nothing about the venue.
  const bad = await mobile.newPage();
  const response = await bad.goto(notice.owner_url.slice(0, -1) + (notice.owner_url.endsWith('0') ? '1' : '0'));
  assert.equal(response.status(), 403);
  assert.ok(!(await bad.content()).includes(target.venue_name));
  await mobile.close();

  // The lead department accepts it on the dashboard; the hazard awaits its close.
  const reviewer = await signIn('zheng');
  await reviewer.goto(`${base}/hazards/${target.id}`);
  await shot(reviewer, '11-owner-report-review');
  await reviewer.locator('form.owner-decision button[value=accept]').first().click();
  await reviewer.waitForURL(`${base}/hazards/${target.id}`);
  assert.equal((await reviewer.textContent('#state')).trim(), '待审核销号');
  await reviewer.context().close();
  phone('wang', 'sync');
  const shown = JSON.parse(phone('wang', '--json', 'hazards', 'show', target.id));
  assert.equal(shown.status.state, 'rectified_claimed');
  assert.ok(shown.status.history.some((e) => e.kind === 'owner_claim' && e.user === 'zheng' && e.applied));
});

test('a 12345 ticket imported at the office is verified on the phone and lands on the ledger', async () => {
  const csv = join(artifacts, 'tickets.csv');
  writeFileSync(csv, '\ufeff工单号,时间,地址,描述,类别,网格,渠道\nB-12345-1,2026-11-28 09:30,和平村 老街,后厨液化气瓶无报警器,城镇燃气,heping-1,12345\n');
  const page = await signIn('office');
  await page.click('header a[href="/intake"]');
  await page.setInputFiles('#import input[name=file]', csv);
  await page.click('#import button[type=submit]');
  await page.waitForSelector('#notice');
  assert.match(await page.textContent('#notice'), /已导入工单 1/);
  await shot(page, '12-intake-imported');

  // The grid worker's phone gets the task on its next sync and verifies it on site.
  phone('wang', 'sync');
  const task = JSON.parse(phone('wang', '--json', 'tasks', 'list')).find((t) => t.ticket_no === 'B-12345-1');
  assert.ok(task && task.status === 'to_verify', JSON.stringify(task));
  const venue = JSON.parse(phone('wang', '--json', 'hazards', 'list'))[0].venue_id;
  const verdict = JSON.parse(phone('wang', '--json', 'tasks', 'verify', task.id, '--substantiated', '--venue', venue, '--photo', AFTER_PHOTO));
  assert.ok(verdict.hazard_id);
  phone('wang', 'sync');

  await page.goto(`${base}/intake`);
  assert.ok(await page.locator(`#tasks a[href="/hazards/${verdict.hazard_id}"]`).isVisible());
  await page.goto(`${base}/hazards?source=public_report`);
  assert.match(await page.textContent('#count'), /共 1 条/);
  assert.ok(await page.locator(`#ledger a[href="/hazards/${verdict.hazard_id}"]`).isVisible());
  await shot(page, '13-ledger-public-report');
  await page.context().close();
});

test('a refused action keeps the text on the hazard page; errors keep the menu; reports for a quarter and the office issuing a month', async () => {
  const open = JSON.parse(phone('wang', '--json', 'hazards', 'list', '--open'));
  const page = await signIn('zheng');
  let found = false;
  for (const h of open) {
    await page.goto(`${base}/hazards/${h.id}`);
    if (await page.locator('#review option[value=set_deadline]').count() > 0) {
      found = true;
      break;
    }
  }
  assert.ok(found, 'the 规建办 reviewer may set a deadline on one of the open hazards');
  {
    await page.selectOption('#review select[name=action]', 'set_deadline');
    await page.fill('#review input[name=deadline]', '2020-01-01');
    await page.fill('#review textarea[name=reason]', '业主申请延期一周');
    await page.click('#submit-review');
    await page.waitForSelector('#action-error');
    assert.match(await page.textContent('#action-error'), /未执行/);
    assert.equal(await page.inputValue('#review textarea[name=reason]'), '业主申请延期一周', 'the text typed is kept');
    assert.ok(await page.locator('header form[action="/logout"]').isVisible(), 'the menu and sign-out stay');
    await shot(page, '17-action-refused-on-page');
  }
  await page.goto(`${base}/no/such/page`);
  assert.match(await page.textContent('#error-reason'), /没有这个页面/);
  assert.ok(await page.locator('header a[href="/hazards"]').isVisible());
  await shot(page, '18-not-found-with-menu');
  await page.goto(`${base}/reports/monthly`);
  await page.click('#periods a[href^="/reports/monthly?period="][href*="-Q"]');
  await page.waitForURL(/period=\d{4}-Q\d/);
  assert.match(await page.textContent('h1'), /季报/);
  await shot(page, '19-quarterly-report');
  await page.context().close();

  // The town office issues last month's report: its number printed, its figures fixed.
  const office = await signIn('office');
  await office.goto(`${base}/reports/monthly`);
  const previous = await office.locator('#periods a').first().getAttribute('href');
  await office.goto(`${base}${previous}`);
  await office.fill('#issue input[name=number]', '吕安委办〔2026〕30号');
  await office.click('#issue button[type=submit]');
  await office.waitForSelector('#issued');
  assert.match(await office.textContent('#doc-no'), /吕安委办〔2026〕30号/);
  assert.match(await office.textContent('#message'), /报告已签发/);
  await shot(office, '20-report-issued');
  await office.context().close();
});

test('a reviewer acts on several hazards from the ledger; the office searches a ticket, opens the venue file; the administrator picks grids', async () => {
  const page = await signIn('zheng');
  assert.match(new URL(page.url()).pathname, /^\/todo$/);
  await shot(page, '21-reviewer-todo');
  await page.goto(`${base}/hazards?open=1`);
  const boxes = page.locator('#ledger input[type=checkbox][name=id]');
  const n = Math.min(3, await boxes.count());
  assert.ok(n > 0, 'the reviewer has open hazards to tick');
  for (let i = 0; i < n; i++) await boxes.nth(i).check();
  await page.selectOption('#bulk-actions select[name=action]', 'set_deadline');
  const due = new Date(Date.now() + 14 * 86400000).toISOString().slice(0, 10);
  await page.fill('#bulk-actions input[name=deadline]', due);
  await page.fill('#bulk-actions textarea[name=reason]', '集中整治，统一延期两周');
  await page.click('#submit-bulk');
  await page.waitForSelector('#bulk-results');
  assert.equal(await page.locator('#bulk-results tbody tr').count(), n, 'a result per ticked row');
  assert.match(await page.textContent('#bulk-summary'), new RegExp(`共 ${n} 条`));
  const text = await page.textContent('main');
  assert.doesNotMatch(text, /set_deadline|[0-9a-f]{8}-[0-9a-f]{4}-/, 'no codes or ids');
  await shot(page, '22-bulk-results');
  // Back to the ledger as it was filtered (a second submit of one form is tests/tests/office_pages.rs').
  await page.click('#back-to-ledger');
  await page.waitForURL(/\/hazards\?open=1/);
  await page.context().close();

  const office = await signIn('office');
  // A bar of the open-by-domain chart opens the list it counts, with the same number.
  await office.goto(`${base}/overview`);
  const bar = office.locator('#chart-open-domain a').first();
  const counted = (await bar.textContent()).match(/\d+/g).pop();
  await bar.click();
  await office.waitForURL(/\/hazards\?domain=/);
  assert.match(await office.textContent('#count'), new RegExp(`共 ${counted} 条`));
  await shot(office, '26-chart-bar-opens-its-list');
  await office.fill('#search input[name=q]', 'B-12345-1');
  await office.press('#search input[name=q]', 'Enter');
  await office.waitForURL(/\/search\?q=/);
  const hit = office.locator('main a[href^="/hazards/"]').first();
  assert.ok(await hit.isVisible(), 'the ticket number finds its hazard');
  await hit.click();
  await office.click('main a[href^="/venues/"]:not([href$="/notice"])');
  await office.waitForURL(/\/venues\/[^/]+$/);
  assert.match(await office.textContent('h1'), /场所档案/);
  for (const id of ['inspections', 'hazards', 'notices', 'moves']) {
    assert.ok(await office.locator(`h2#${id}`).isVisible(), id);
  }
  assert.ok(await office.locator('h2#hazards + table a[href^="/hazards/"]').count() > 0);
  await shot(office, '23-venue-file');
  await office.context().close();

  const admin = await signIn('admin');
  await admin.goto(`${base}/admin/users`);
  await admin.fill('#user-form input[name=id]', 'xiao');
  await admin.fill('#user-form input[name=name]', '肖明');
  await admin.selectOption('#user-form select[name=role]', 'inspector');
  await admin.fill('#user-form input[name=password]', 'short');
  await admin.click('#user-form button[type=submit]');
  assert.match(await admin.textContent('#error-reason'), /须设置至少 8 位密码/);
  assert.ok(await admin.locator('header form[action="/logout"]').isVisible());
  await shot(admin, '24-admin-error-in-chinese');
  await admin.goto(`${base}/admin/users`);
  await admin.fill('#user-form input[name=id]', 'xiao');
  await admin.fill('#user-form input[name=name]', '肖明');
  await admin.selectOption('#user-form select[name=role]', 'inspector');
  const grids = await admin.locator('#user-form select[name=grids] option').evaluateAll((os) => os.slice(0, 2).map((o) => o.value));
  await admin.selectOption('#user-form select[name=grids]', grids);
  await admin.fill('#user-form input[name=password]', 'long enough pw');
  await admin.click('#user-form button[type=submit]');
  await admin.waitForSelector('#user-xiao');
  assert.match(await admin.textContent('#user-xiao'), /网格.*、.*网格/);
  await shot(admin, '25-admin-user-with-grids');
  // 肖明 enrols a phone with the password just set, and it syncs.
  const xiao = ['--store', join(data, 'phones', 'phone-xiao.sqlite'), '--as', 'xiao'];
  run('gridsafe', [...xiao, 'init']);
  run('gridsafe', [...xiao, 'enroll', '--server', base, '--password', 'long enough pw', '--device-name', '肖明的手机']);
  run('gridsafe', [...xiao, 'sync']);
  // Disabling asks for the confirmation first; then the user is shown disabled.
  await admin.check('#user-xiao form.disable input[name=confirm]');
  await admin.click('#user-xiao form.disable button[type=submit]');
  await admin.waitForSelector('#user-xiao .overdue');
  assert.match(await admin.textContent('#user-xiao'), /已停用/);
  await shot(admin, '27-admin-user-disabled');
  await admin.context().close();
  // ...and the phone's next sync is refused.
  assert.throws(() => run('gridsafe', [...xiao, 'sync']), (e) => {
    assert.notEqual(e.status, 0);
    assert.match(`${e.stderr}`, /撤销|停用|revoked|disabled/);
    return true;
  }, 'a disabled user\'s phone cannot sync');
});

test('one form sent twice at the same instant acts once, and the page says the second did nothing', async () => {
  const open = JSON.parse(phone('wang', '--json', 'hazards', 'list', '--open'));
  const page = await signIn('zheng');
  let found = null;
  for (const h of open) {
    await page.goto(`${base}/hazards/${h.id}`);
    if (await page.locator('#review option[value=control]').count() > 0) {
      found = h.id;
      break;
    }
  }
  assert.ok(found, 'the 规建办 reviewer may record control measures on one of the open hazards');
  await page.selectOption('#review select[name=action]', 'control');
  await page.fill('#review textarea[name=text]', '关闭气瓶角阀，暂停使用燃具');
  // Both requests carry the same single-use form token, sent together (a double click).
  const ends = await page.evaluate(async () => {
    const f = document.querySelector('#review');
    const body = new URLSearchParams(new FormData(f)).toString();
    // The form's own field named "action" shadows f.action: the attribute is the address.
    const send = () => fetch(f.getAttribute('action'), {
      method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }).then((r) => new URL(r.url).searchParams.get('done'));
    return Promise.all([send(), send()]);
  });
  assert.deepEqual([...ends].sort(), ['again', 'control'], `${ends}`);
  await page.goto(`${base}/hazards/${found}?done=again`);
  const text = await page.textContent('main');
  assert.equal(text.split('关闭气瓶角阀，暂停使用燃具').length - 1, 1, 'the measures are recorded once');
  assert.match(text, /此表单已提交过，未重复执行/);
  await shot(page, '28-one-form-sent-twice');
  await page.context().close();
});

test('a reviewer returns a claim with a new deadline, then closes five on-the-spot fixes in one go', async () => {
  // 城运中心 leads the e-bike items: every demo phone fixed a flying lead on the spot (即改).
  const page = await signIn('sun');
  await page.goto(`${base}/batch`);
  const rows = page.locator('#batch tbody tr');
  const waiting = await rows.count();
  assert.ok(waiting >= 6, `on-the-spot fixes waiting for 城运中心: ${waiting}`);
  // One is returned from its own page: a reason and a new deadline are required.
  const returned = await rows.first().locator('input[name=id]').getAttribute('value');
  await page.goto(`${base}/hazards/${returned}`);
  await page.selectOption('#review select[name=action]', 'reject');
  await page.fill('#review textarea[name=reason]', '整改后照片看不清插座，请重新整改并拍照');
  await page.click('#submit-review');
  await page.waitForSelector('#action-error');
  assert.match(await page.textContent('#action-error'), /期限/, 'a return without a new deadline is refused');
  assert.equal(await page.inputValue('#review textarea[name=reason]'), '整改后照片看不清插座，请重新整改并拍照');
  const due = new Date(Date.now() + 7 * 86400000).toISOString().slice(0, 10);
  await page.fill('#review input[name=deadline]', due);
  await page.click('#submit-review');
  await page.waitForURL(/done=reject/);
  assert.match(await page.textContent('main'), /已执行：整改审核不通过/);
  assert.match(await page.textContent('main'), new RegExp(due));
  await shot(page, '29-claim-returned-with-deadline');
  // Five of the rest closed from the batch page, each recorded as its own acceptance.
  await page.goto(`${base}/batch`);
  assert.equal(await page.locator(`#batch input[value="${returned}"]`).count(), 0, 'the returned one is not offered');
  const boxes = page.locator('#batch input[type=checkbox][name=id]');
  const ids = [];
  for (let i = 0; i < await boxes.count(); i++) {
    if (i < 5) ids.push(await boxes.nth(i).getAttribute('value'));
    else await boxes.nth(i).uncheck();
  }
  await page.click('#submit-batch');
  await page.waitForSelector('#batch-result');
  assert.match(await page.textContent('#batch-result'), /已审核销号 5 项/);
  await shot(page, '30-five-fixes-closed');
  for (const id of ids) {
    await page.goto(`${base}/hazards/${id}`);
    assert.match(await page.textContent('main'), /已销号/, id);
  }
  await page.context().close();
});

test('a session that ends while a form is open: the sign-in page says so, shows what was typed, and leads back', async () => {
  const page = await signIn('zheng');
  await page.goto(`${base}/hazards?open=1`);
  const hazard = await page.locator('#ledger tbody a[href^="/hazards/"]').first().getAttribute('href');
  await page.goto(`${base}${hazard}`);
  // The session ends elsewhere (signed out in another tab) while this form is being filled in.
  const other = await page.context().newPage();
  await other.goto(`${base}/todo`);
  await other.click('header form[action="/logout"] button');
  // Closed only once the sign-in page has arrived: Chromium can drop a close that races a
  // navigation's commit, and page.close() then never returns (microsoft/playwright#42366).
  await other.waitForURL((u) => u.pathname.startsWith('/login'));
  await other.close();
  await page.selectOption('#review select[name=action]', 'control');
  await page.fill('#review textarea[name=text]', '会话过期前写下的管控措施');
  await page.click('#submit-review');
  await page.waitForSelector('#kept');
  assert.match(await page.textContent('#login-error'), /登录已过期，刚才的提交未执行/);
  assert.equal(await page.locator('#kept textarea').first().inputValue(), '会话过期前写下的管控措施');
  assert.equal(await page.title(), '登录 · GridSafe', 'the page title is the title alone');
  await shot(page, '31-session-expired-form-kept');
  await page.fill('input[name=user]', 'zheng');
  await page.fill('input[name=password]', PASSWORD);
  const next = await page.inputValue('input[name=next]');
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  assert.equal(new URL(page.url()).pathname, hazard, `next was ${next}`);
  await page.context().close();
});
