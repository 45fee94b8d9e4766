// station.js - the depot's print station: scan, preview, print.
//
// Everything shown comes from the API with the depot person's token: the
// order view (status, destination region), the masked preview PNG, the
// depot's printers.  Nothing is kept once the page is closed.
import { api, errorOf } from './auth.js';
import { t } from './i18n.js';
import { message, start } from './page.js';

const $ = (id) => document.getElementById(id);
const TN = /^[A-Z]{2,4}[0-9]{18}$/;
const POLL_MS = 500;
const POLL_MAX = 120;
const parcels = new Map(); // tracking number -> { row, preview URL }
let printersOk = false;

function cell(tr, text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = text;
  tr.appendChild(td);
  return td;
}

function result(tn, text, kind) {
  const p = parcels.get(tn);
  if (!p) return;
  p.result.textContent = text;
  p.result.className = `result ${kind}`;
}

async function loadPrinters() {
  const sel = $('printer');
  sel.replaceChildren();
  let res;
  try {
    res = await api('GET', '/v1/printers');
  } catch {
    message(t('error.network'), 'error');
    return;
  }
  if (!res.ok) {
    const e = await errorOf(res);
    printersOk = false;
    const o = new Option(t('printer.none'), '');
    sel.add(o);
    sel.disabled = true;
    $('print-all').disabled = true;
    document.body.dataset.printers = res.status === 404 ? 'missing' : 'error';
    message(res.status === 404 ? t('print.route.missing', 'GET /v1/printers') : t('printer.unavailable', e.message), 'error');
    return;
  }
  const list = (await res.json()).printers || [];
  for (const p of list) {
    const label = p.name && p.name !== p.id ? `${p.name} (${p.id})` : p.id;
    sel.add(new Option(label, p.id));
  }
  printersOk = list.length > 0;
  document.body.dataset.printers = printersOk ? 'ok' : 'none';
  if (!printersOk) sel.add(new Option(t('printer.none'), ''));
  sel.disabled = !printersOk;
  $('print-all').disabled = !printersOk;
}

async function loadPreview(tn, img, note) {
  const res = await api('GET', `/v1/orders/${encodeURIComponent(tn)}/preview.png`);
  if (!res.ok || !(res.headers.get('Content-Type') || '').startsWith('image/png')) {
    note.textContent = res.status === 404 ? t('route.missing', 'GET /v1/orders/{tn}/preview.png') : t('preview.failed');
    img.remove();
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  parcels.get(tn).url = url;
  img.src = url;
}

async function scan(raw) {
  const tn = raw.trim().toUpperCase();
  if (!tn) return;
  if (!TN.test(tn)) {
    message(t('bad.number', tn.slice(0, 40)), 'error');
    return;
  }
  if (parcels.has(tn)) {
    message(t('already.scanned', tn), 'error');
    return;
  }
  let res;
  try {
    res = await api('GET', `/v1/orders/${encodeURIComponent(tn)}`);
  } catch {
    message(t('error.network'), 'error');
    return;
  }
  if (res.status === 404) {
    message(t('unknown.number', tn), 'error');
    return;
  }
  if (!res.ok) {
    message(t('error.generic', (await errorOf(res)).message), 'error');
    return;
  }
  const view = await res.json();
  const tr = document.createElement('tr');
  tr.dataset.tn = tn;
  cell(tr, tn, 'tn');
  cell(tr, view.status || '');
  cell(tr, (view.recipient && view.recipient.region) || '');
  const pv = cell(tr, '', 'preview');
  const img = document.createElement('img');
  img.alt = tn;
  pv.appendChild(img);
  const note = document.createElement('span');
  pv.appendChild(note);
  const act = cell(tr, '');
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.className = 'print-one';
  btn.textContent = t('print.one');
  btn.addEventListener('click', () => printTo([tn]));
  act.appendChild(btn);
  const resCell = cell(tr, '', 'result');
  parcels.set(tn, { row: tr, result: resCell, url: null });
  $('parcels').tBodies[0].appendChild(tr);
  $('parcels').hidden = false;
  $('empty').hidden = true;
  message(t('added', tn));
  loadPreview(tn, img, note).catch(() => { note.textContent = t('preview.failed'); });
}

// Why a print was refused, in the words of the page.
function refusal(tn, printer, status, e) {
  if (status === 429) return t('reprint.limit', tn);
  if (status === 404 && e.code === 'not_found') return t('unknown.number', tn);
  if (/printer/.test(e.code || '') || status === 503 || status === 502) return t('printer.off', printer);
  return t('print.failed', e.message);
}

async function poll(id) {
  for (let i = 0; i < POLL_MAX; i++) {
    const res = await api('GET', `/v1/print-jobs/${encodeURIComponent(id)}`);
    if (!res.ok) return { state: 'failed', error: await errorOf(res) };
    const job = await res.json();
    const st = job.status || job.state;
    if (st === 'done' || st === 'printed' || st === 'failed' || st === 'error') return job;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { status: 'failed', error: { code: 'timeout', message: 'timeout' } };
}

// One job per parcel: each row says what became of its own label.
async function printTo(tns) {
  const printer = $('printer').value;
  if (!printersOk || !printer) return;
  for (const tn of tns) {
    result(tn, t('print.queued'), 'info');
    let res;
    try {
      res = await api('POST', '/v1/print-jobs', { printer, tracking_nos: [tn] });
    } catch {
      result(tn, t('error.network'), 'error');
      continue;
    }
    if (res.status === 404 && !(await res.clone().json().catch(() => ({}))).error?.code?.startsWith('not_found')) {
      result(tn, t('print.route.missing', 'POST /v1/print-jobs'), 'error');
      continue;
    }
    if (!res.ok) {
      const msg = refusal(tn, printer, res.status, await errorOf(res));
      result(tn, msg, 'error');
      message(msg, 'error');
      continue;
    }
    const job = await res.json();
    const done = job.id ? await poll(job.id) : job;
    const st = done.status || done.state;
    if (st === 'done' || st === 'printed') {
      result(tn, t('print.done', printer), 'ok');
    } else {
      const err = done.error && typeof done.error === 'object' ? done.error : { code: String(done.error || done.reason || ''), message: String(done.error || done.reason || st) };
      const msg = /printer|connect|refused|offline|unreachable/.test(`${err.code} ${err.message}`) ? t('printer.off', printer) : t('print.failed', err.message);
      result(tn, msg, 'error');
      message(msg, 'error');
    }
  }
}

async function pdf() {
  const tns = [...parcels.keys()];
  if (!tns.length) return;
  const res = await api('POST', '/v1/labels', { tracking_nos: tns });
  if (!res.ok) {
    const e = await errorOf(res);
    message(res.status === 429 ? t('reprint.limit', e.field || tns.join(', ')) : t('error.generic', e.message), 'error');
    return;
  }
  const a = $('pdf-link');
  if (a.href) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(await res.blob());
  a.hidden = false;
  a.click();
  message(t('pdf.ready', tns.length));
}

start(async () => {
  $('scan-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = $('scan').value;
    $('scan').value = '';
    scan(v);
    $('scan').focus();
  });
  $('print-all').addEventListener('click', () => printTo([...parcels.keys()]));
  $('pdf').addEventListener('click', () => pdf().catch(() => message(t('error.network'), 'error')));
  await loadPrinters();
  $('scan').focus();
});
