// tests/e2e/station/browse.mjs - the station pages in headless Chromium
// (Debian's /usr/bin/chromium, driven by puppeteer-core), for 67-station.sh.
// Prints "ok NAME", "FAIL NAME: DETAIL" and "skip NAME: WHY" lines; the
// shell counts them.
//
// Environment: STATION (http://127.0.0.1:PORT), ISSUER, TNS (three tracking
// numbers of depot D1, comma-separated), UNKNOWN_TN (well-formed, no such
// order), SHOTS (a directory for station.png and station-audit.png),
// PRINTER_OUT (the file the fake printer writes), CHROMIUM.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const env = process.env;
const STATION = env.STATION;
const ISSUER = env.ISSUER;
const TNS = env.TNS.split(',');
const SHOTS = env.SHOTS;
const WAIT = 20000;
let failed = 0;

const ok = (name) => console.log(`ok   ${name}`);
const fail = (name, detail) => {
  failed++;
  console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
};
const skip = (name, why) => console.log(`skip ${name}: ${why}`);
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) fail(name, 'condition false');
    else ok(name);
    return r !== false;
  } catch (e) {
    fail(name, String(e && e.message ? e.message : e).split('\n')[0]);
    return false;
  }
}

const browser = await puppeteer.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=zh-CN', '--no-first-run'],
  env: { ...process.env, LANGUAGE: 'zh_CN', LANG: 'zh_CN.UTF-8' },
});

const cspViolations = [];
const pageErrors = [];
const foreign = [];
async function newPage(langs) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1180, height: 760 });
  if (langs) {
    await page.evaluateOnNewDocument((l) => {
      Object.defineProperty(navigator, 'languages', { get: () => l });
      Object.defineProperty(navigator, 'language', { get: () => l[0] });
    }, langs);
  }
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e.message).split('\n')[0]));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['blob:', 'data:'].includes(u.protocol) && u.origin !== STATION && u.origin !== ISSUER) foreign.push(r.url());
  });
  return page;
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
const visible = (page, sel) => page.$eval(sel, (e) => !e.hidden && e.offsetParent !== null).catch(() => false);
async function waitText(page, sel, re) {
  await page.waitForFunction((s, src) => {
    const e = document.querySelector(s);
    return e && new RegExp(src).test(e.textContent);
  }, { timeout: WAIT }, sel, re.source);
  return text(page, sel);
}

// signIn(page, name, password): from a station page through the provider's form.
async function signIn(page, name, password) {
  await page.waitForSelector('#signin:not([hidden])', { timeout: WAIT });
  await Promise.all([page.waitForNavigation({ timeout: WAIT }), page.click('#signin')]);
  if (!page.url().startsWith(ISSUER)) throw new Error(`not at the provider: ${page.url()}`);
  await page.waitForSelector('#username', { timeout: WAIT });
  await page.type('#username', name);
  await page.type('#password', password);
  await Promise.all([page.waitForNavigation({ timeout: WAIT }), page.click('#login')]);
  await page.waitForFunction(() => !document.getElementById('signout').hidden || /失败|failed/i.test(document.getElementById('message').textContent), { timeout: WAIT });
}

async function signOut(page) {
  await Promise.all([page.waitForNavigation({ timeout: WAIT }), page.click('#signout')]);
  if (page.url().startsWith(ISSUER)) {
    // the provider asks before it ends its session
    await page.waitForSelector('button[name="logout"]', { timeout: WAIT });
    await Promise.all([page.waitForNavigation({ timeout: WAIT }), page.click('button[name="logout"]')]);
  }
  await page.waitForSelector('#signin:not([hidden])', { timeout: WAIT });
}

async function scan(page, value) {
  await page.click('#scan', { clickCount: 3 });
  await page.type('#scan', value);
  await page.keyboard.press('Enter'); // what a barcode scanner sends last
}

// ---- the station, in Chinese, signed out -------------------------------------
const page = await newPage(['zh-CN', 'zh']);
await page.goto(`${STATION}/station/`, { waitUntil: 'networkidle0' });
await check('station: the page is Chinese for a zh-CN browser', async () => (await text(page, 'h1')) === '包裹面单打印站');
await check('station: signed out, it asks to sign in and shows no work area', async () =>
  (await visible(page, '#signin')) && !(await visible(page, '#work')) && /登录/.test(await text(page, '#message')));

const en = await newPage(['fr-FR', 'fr']);
await en.goto(`${STATION}/station/`, { waitUntil: 'networkidle0' });
await check('station: a French browser gets the English fallback', async () => (await text(en, 'h1')) === 'Parcel label station');
await en.close();

// ---- sign-in through the provider's login page --------------------------------
await check('sign-in: a wrong password is refused by the provider', async () => {
  await Promise.all([page.waitForNavigation({ timeout: WAIT }), page.click('#signin')]);
  await page.waitForSelector('#username', { timeout: WAIT });
  await page.type('#username', 'depot1');
  await page.type('#password', 'wrong');
  await Promise.all([page.waitForNavigation({ timeout: WAIT }), page.click('#login')]);
  return page.url().startsWith(ISSUER) && /Wrong name or password/.test(await text(page, '#error'));
});
await check('sign-in: depot1 signs in at the provider and comes back signed in', async () => {
  await page.$eval('#username', (e) => { e.value = ''; });
  await page.type('#username', 'depot1');
  await page.type('#password', 'pw-depot1');
  await Promise.all([page.waitForNavigation({ timeout: WAIT }), page.click('#login')]);
  await page.waitForSelector('#signout:not([hidden])', { timeout: WAIT });
  return page.url() === `${STATION}/station/` && /depot1/.test(await text(page, '#who')) && /D1/.test(await text(page, '#who'));
});
await check('sign-in: the code is gone from the address bar', async () => !/code=|state=/.test(page.url()));
await check('sign-in: no token in localStorage, sessionStorage or a readable cookie', async () => {
  const s = await page.evaluate(() => ({ l: localStorage.length, s: sessionStorage.length, c: document.cookie }));
  if (s.l || s.s || s.c) throw new Error(JSON.stringify(s));
});

// ---- scanning ----------------------------------------------------------------
for (const tn of TNS) await scan(page, tn);
await check('scan: three scanned parcels are listed', async () => {
  await page.waitForFunction((n) => document.querySelectorAll('#parcels tbody tr').length === n, { timeout: WAIT }, TNS.length);
  const got = await page.$$eval('#parcels tbody tr', (rows) => rows.map((r) => r.dataset.tn));
  return JSON.stringify(got) === JSON.stringify(TNS);
});
let previews = false;
await check('scan: each parcel shows its masked preview (the PNG loaded), or says the route is missing', async () => {
  await page.waitForFunction(() => [...document.querySelectorAll('#parcels tbody td.preview')].every((td) => {
    const img = td.querySelector('img');
    return (img && img.complete && img.naturalWidth > 0) || td.textContent.trim() !== '';
  }), { timeout: WAIT });
  const st = await page.$$eval('#parcels tbody td.preview', (tds) => tds.map((td) => {
    const img = td.querySelector('img');
    return img ? `${img.naturalWidth}x${img.naturalHeight}` : td.textContent.trim();
  }));
  previews = st.every((s) => /^[0-9]+x[0-9]+$/.test(s) && !s.startsWith('0x'));
  if (!previews && st.every((s) => /preview\.png/.test(s))) {
    skip('scan: masked previews', `GET /v1/orders/{tn}/preview.png is not on this server yet (${st[0]})`);
    return true;
  }
  return previews;
});
await scan(page, env.UNKNOWN_TN);
await check('scan: an unknown number gets a clear message', async () =>
  (await waitText(page, '#message', new RegExp(env.UNKNOWN_TN))).includes('不存在'));
await scan(page, 'HELLO-123');
await check('scan: a string that is no tracking number is refused before any request', async () =>
  /不是有效的运单号/.test(await waitText(page, '#message', /HELLO/)));
await scan(page, TNS[0]);
await check('scan: a second scan of the same parcel is not added twice', async () =>
  /已在列表中/.test(await waitText(page, '#message', new RegExp(TNS[0]))) &&
  (await page.$$eval('#parcels tbody tr', (r) => r.length)) === TNS.length);

// ---- printing ----------------------------------------------------------------
const printers = await page.$$eval('#printer option', (o) => o.map((x) => x.value).filter(Boolean));
const printerRoute = (await page.$eval('body', (b) => b.dataset.printers)) !== 'missing';
// The PDFs the browser saved (its downloads), newest last.
const DL = env.DOWNLOADS;
mkdirSync(DL, { recursive: true });
const cdp = await page.createCDPSession();
await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: DL });
async function downloaded(n) {
  for (let i = 0; i < 100; i++) {
    const f = readdirSync(DL).filter((x) => x.endsWith('.pdf'));
    if (f.length >= n) return f.map((x) => readFileSync(`${DL}/${x}`));
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${n} PDF downloads expected, ${readdirSync(DL).join(' ') || 'none'} there`);
}
async function pdfOnce() {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/labels') && r.request().method() === 'POST', { timeout: WAIT }),
    page.click('#pdf'),
  ]);
  return res;
}
if (printers.length) {
  await check('print: the printer list is depot D1\'s only', async () => JSON.stringify(printers) === '["d1-dock","d1-off"]');
  const size = () => statSync(env.PRINTER_OUT, { throwIfNoEntry: false })?.size ?? 0;
  const settled = () => page.waitForFunction(() => [...document.querySelectorAll('#parcels tbody td.result')].every((td) => !/info/.test(td.className)), { timeout: 60000 });
  await page.select('#printer', 'd1-off');
  await page.click(`#parcels tbody tr[data-tn="${TNS[2]}"] button.print-one`);
  await check('print: a printer that is off gets a clear message', async () => {
    await settled();
    return /d1-off/.test(await waitText(page, '#message', /未连接|关闭/));
  });
  const before = size();
  await page.select('#printer', 'd1-dock');
  await page.click('#print-all');
  await check('print: the three labels print to the depot printer (each row says so)', async () => {
    await settled();
    const r = await page.$$eval('#parcels tbody td.result', (tds) => tds.map((td) => `${td.className}:${td.textContent}`));
    if (!r.every((x) => /ok/.test(x))) throw new Error(r.join(' | '));
  });
  await check('print: the fake printer received the bytes (ZPL)', async () => {
    const got = readFileSync(env.PRINTER_OUT).subarray(before);
    if (size() <= before || !got.includes('^XA')) throw new Error(`${before} -> ${size()} bytes`);
  });
  const res = await pdfOnce();
  await check('pdf: one PDF of the three labels, saved by the browser (a reprint within the limit)', async () =>
    res.status() === 200 && (await downloaded(1))[0].subarray(0, 5).toString() === '%PDF-');
  await page.click(`#parcels tbody tr[data-tn="${TNS[0]}"] button.print-one`);
  await check('print: past the reprint limit the page says so', async () =>
    new RegExp(`${TNS[0]}.*补打次数上限`).test(await waitText(page, '#message', /补打|失败/)));
} else {
  skip('print: to a depot printer', printerRoute ? 'no printer is configured for depot D1' : 'GET /v1/printers and POST /v1/print-jobs are not on this server yet');
  let res = await pdfOnce();
  await check('pdf: one PDF of the three labels, saved by the browser for its print dialog', async () => {
    const [b] = await downloaded(1);
    const got = `${res.status()} ${res.headers()['content-type']} ${b.subarray(0, 5).toString()}`;
    if (got !== '200 application/pdf %PDF-') throw new Error(got);
  });
  res = await pdfOnce();
  await check('pdf: a reprint within the limit', async () => res.status() === 200);
  res = await pdfOnce();
  await check('pdf: past the reprint limit the page says so', async () =>
    res.status() === 429 && /补打次数上限/.test(await waitText(page, '#message', /补打/)));
}
if (SHOTS) {
  await page.$eval('#message', (m) => { m.textContent = ''; m.className = ''; }).catch(() => {});
  await page.screenshot({ path: `${SHOTS}/station.png` });
}

await check('sign-out: the page forgets the token and the provider ends its session', async () => {
  await signOut(page);
  return !(await visible(page, '#work')) && (await page.$$eval('#parcels tbody tr', (r) => r.length)) === 0;
});

// ---- an insider: depot staff of another depot ---------------------------------
await check('insider: depot2 (depot D2) signs in', async () => {
  await signIn(page, 'depot2', 'pw-depot2');
  return /depot2/.test(await text(page, '#who'));
});
await scan(page, TNS[0]);
await check('insider: depot2 scanning a D1 parcel gets "unknown number", no preview', async () =>
  /不存在/.test(await waitText(page, '#message', new RegExp(TNS[0]))) &&
  (await page.$$eval('#parcels tbody tr', (r) => r.length)) === 0);
await signOut(page);

// ---- the auditor's page -------------------------------------------------------
await page.goto(`${STATION}/station/audit`, { waitUntil: 'networkidle0' });
await check('audit: auditor1 signs in on /station/audit', async () => {
  await signIn(page, 'auditor1', 'pw-auditor1');
  return page.url() === `${STATION}/station/audit` && /auditor1/.test(await text(page, '#who'));
});
await check('audit: the chain is shown intact', async () => /完整/.test(await waitText(page, '#chain-status', /完整|损坏/)));
await check('audit: its last signed checkpoint is shown, held by the chain', async () => /与审计链一致/.test(await waitText(page, '#checkpoint', /检查点/)));
let printActs = null;
for (const tn of TNS) {
  await page.$eval('#tn', (e) => { e.value = ''; });
  await page.type('#tn', tn);
  await page.click('#query button[type=submit]');
  await check(`audit: the trail of ${tn} shows depot1's prints`, async () => {
    await page.waitForFunction((t) => {
      const rows = [...document.querySelectorAll('#trail tbody tr')];
      return rows.length > 0 && rows.every((r) => r.cells[5].textContent === t);
    }, { timeout: WAIT }, tn);
    const rows = await page.$$eval('#trail tbody tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
    const prints = rows.filter((c) => c[2] === 'oidc:depot1' && /^(label\.(print|reprint|batch)|print_job\.create)$/.test(c[4]) && c[6] === 'ok');
    printActs = prints.map((c) => c[4]);
    if (!prints.length) throw new Error(JSON.stringify(rows.map((c) => `${c[2]} ${c[4]} ${c[6]}`)));
    if (previews && !rows.some((c) => c[2] === 'oidc:depot1' && c[4] === 'label.preview')) throw new Error('no label.preview entry');
    if (tn === TNS[0] && !rows.some((c) => c[2] === 'oidc:depot2' && c[6] === 'denied')) throw new Error('no entry of depot2\'s refused look-up');
  });
}
console.log(`# print actions seen: ${printActs}`);
if (SHOTS) {
  await page.$eval('#tn', (e) => { e.value = ''; });
  await page.type('#tn', TNS[0]);
  await page.click('#query button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#trail tbody tr').length > 0, { timeout: WAIT });
  await page.screenshot({ path: `${SHOTS}/station-audit.png`, fullPage: true });
}
await signOut(page);

// ---- each page for its own role only -------------------------------------------
await check('roles: depot1 on the auditor\'s page is told the role cannot use it, and sees no trail', async () => {
  await signIn(page, 'depot1', 'pw-depot1');
  await waitText(page, '#message', /角色/);
  await page.type('#tn', TNS[0]);
  await page.click('#query button[type=submit]');
  await waitText(page, '#message', /角色/);
  return (await page.$$eval('#trail tbody tr', (r) => r.length)) === 0;
});
await signOut(page);
await page.goto(`${STATION}/station/`, { waitUntil: 'networkidle0' });
await check('roles: auditor1 on the station cannot look a parcel up', async () => {
  await signIn(page, 'auditor1', 'pw-auditor1');
  await scan(page, TNS[0]);
  await page.waitForFunction(() => /角色/.test(document.getElementById('message').textContent), { timeout: WAIT });
  return (await page.$$eval('#parcels tbody tr', (r) => r.length)) === 0;
});
await signOut(page);
await check('pages: no Content-Security-Policy violation and no script error', async () => {
  if (cspViolations.length || pageErrors.length) throw new Error([...cspViolations, ...pageErrors].slice(0, 3).join(' | '));
});
await check('pages: the browser talked to the daemon and the provider only', async () => {
  if (foreign.length) throw new Error(foreign.slice(0, 3).join(' '));
});
await browser.close();
process.exit(failed ? 1 : 0);
