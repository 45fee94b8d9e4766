// audit.js - the auditor's page: the trail of one tracking number (or an
// actor, or both, from a time on), and the chain's state.  Entries carry no
// personal data; the page shows their sequence, time, actor, role, action,
// tracking number, result and request id (not the free-text reason).
import { api, errorOf } from './auth.js';
import { t } from './i18n.js';
import { message, start } from './page.js';

const $ = (id) => document.getElementById(id);
const PAGE = 1000;
const PAGES_MAX = 50;

function cell(tr, text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = text == null ? '' : String(text);
  tr.appendChild(td);
}

async function verify() {
  const st = $('chain-status');
  const res = await api('GET', '/v1/audit/verify');
  if (!res.ok) {
    st.textContent = res.status === 403 ? t('role.wrong') : t('error.generic', (await errorOf(res)).message);
    st.className = 'bad';
    if (res.status === 403) message(t('role.wrong'), 'error');
    return;
  }
  const v = await res.json();
  st.textContent = v.ok ? t('audit.chain.ok', v.entries, String(v.head).slice(0, 16)) : t('audit.chain.bad', v.bad_seq);
  st.className = v.ok ? 'good' : 'bad';
  const cp = v.checkpoint;
  const el = $('checkpoint');
  if (!cp) el.textContent = t('audit.checkpoint.none');
  else el.textContent = cp.held ? t('audit.checkpoint.held', cp.seq, String(cp.head).slice(0, 16)) : t('audit.checkpoint.lost', cp.seq);
  el.className = cp && !cp.held ? 'bad' : cp ? 'good' : '';
}

async function search() {
  const q = new URLSearchParams({ limit: String(PAGE) });
  const tn = $('tn').value.trim().toUpperCase();
  const actor = $('actor').value.trim();
  const since = $('since').value.trim();
  if (tn) q.set('tracking_no', tn);
  if (actor) q.set('actor', actor);
  if (since) q.set('since', since);
  const entries = [];
  for (let i = 0; i < PAGES_MAX; i++) {
    const res = await api('GET', `/v1/audit?${q}`);
    if (!res.ok) {
      message(res.status === 403 ? t('role.wrong') : t('error.generic', (await errorOf(res)).message), 'error');
      return;
    }
    const page = await res.json();
    entries.push(...(page.entries || []));
    if (page.next_after_seq == null) break;
    q.set('after_seq', String(page.next_after_seq));
  }
  const body = $('trail').tBodies[0];
  body.replaceChildren();
  for (const e of entries) {
    const tr = document.createElement('tr');
    tr.dataset.action = e.action || '';
    cell(tr, e.seq, 'mono');
    cell(tr, e.ts || e.time);
    cell(tr, e.actor, 'mono');
    cell(tr, e.role);
    cell(tr, e.action, 'mono');
    cell(tr, e.tracking_no, 'tn');
    cell(tr, e.result);
    cell(tr, e.request_id, 'mono');
    body.appendChild(tr);
  }
  $('trail').hidden = entries.length === 0;
  $('count').textContent = entries.length ? t('audit.count', entries.length) : t('audit.none');
  message('');
  await verify();
}

start(async () => {
  $('query').addEventListener('submit', (ev) => {
    ev.preventDefault();
    search().catch(() => message(t('error.network'), 'error'));
  });
  await verify().catch(() => message(t('error.network'), 'error'));
  $('tn').focus();
});
