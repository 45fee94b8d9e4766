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
    if (res.status === 403) message(t('role.wrong'), 'error');
    else message(res.status === 404 ? t('print.route.missing', 'GET /v1/printers') : t('printer.unavailable', e.message), 'error');
    return;
  }
  const list = (await res.json()).printers || [];
  for (const p of list) sel.add(new Option(`${p.name} (${p.language || ''} ${p.dpi || ''} dpi, ${p.size || ''})`, p.name));
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
    message(res.status === 403 ? t('role.wrong') : t('error.generic', (await errorOf(res)).message), 'error');
    return;
  }
  const view = await res.json();
  const tr = document.createElement('tr');
  tr.dataset.tn = tn;
  cell(tr, tn, 'tn');
  const st = view.status ? t(`status.${view.status}`) : '';
  cell(tr, st.startsWith('status.') ? view.status : st);
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

// Why a print job was refused, or failed, in the words of the page.
function refusal(tn, printer, status, e) {
  if (e.code === 'reprint_limit' || (status === 429 && e.code !== 'print_queue_full')) return t('reprint.limit', tn);
  if (e.code === 'print_queue_full') return t('print.queue.full');
  if (e.code === 'printer_not_found') return t('printer.unknown', printer);
  if (status === 404) return t('unknown.number', tn);
  return t('print.failed', e.message);
}

const FINAL = new Set(['sent', 'failed', 'interrupted']);
async function poll(job) {
  for (let i = 0; i < POLL_MAX && !FINAL.has(job.status); i++) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const res = await api('GET', `/v1/print-jobs/${encodeURIComponent(job.id)}`);
    if (!res.ok) return { status: 'failed', reason: (await errorOf(res)).code, detail: '' };
    job = await res.json();
  }
  return job;
}

// One job for the labels given; each row says what became of its label.
async function printTo(tns) {
  const printer = $('printer').value;
  if (!printersOk || !printer || !tns.length) return;
  for (const tn of tns) result(tn, t('print.queued'), 'info');
  let res;
  try {
    res = await api('POST', '/v1/print-jobs', { printer, tracking_nos: tns });
  } catch {
    for (const tn of tns) result(tn, t('error.network'), 'error');
    return;
  }
  if (!res.ok) {
    const e = await errorOf(res);
    const m = /^tracking_nos\[([0-9]+)\]$/.exec(e.field || '');
    const tn = m ? tns[Number(m[1])] : tns[0];
    const msg = res.status === 404 && !e.field && e.code !== 'printer_not_found'
      ? t('print.route.missing', 'POST /v1/print-jobs') : refusal(tn, printer, res.status, e);
    for (const x of tns) result(x, x === tn ? msg : t('print.not.sent'), 'error');
    message(msg, 'error');
    return;
  }
  const job = await poll(await res.json());
  if (job.status === 'sent') {
    for (const tn of tns) result(tn, t('print.done', printer), 'ok');
    message(t('print.sent', tns.length, printer));
    return;
  }
  const off = /^printer_(unreachable|stalled|closed)$/.test(job.reason || '');
  const msg = off ? t('printer.off', printer) : t('print.failed', job.reason || job.status);
  for (const tn of tns) result(tn, msg, 'error');
  message(msg, 'error');
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
