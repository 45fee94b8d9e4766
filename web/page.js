// page.js - what both pages share: the sign-in bar and the message line.
import * as auth from './auth.js';
import { t, translate } from './i18n.js';

const $ = (id) => document.getElementById(id);

export function message(text, kind = 'info') {
  const m = $('message');
  m.textContent = text;
  m.className = text ? kind : '';
}

function show() {
  const on = auth.signedIn();
  $('signin').hidden = on || !auth.configured();
  $('signout').hidden = !on;
  $('work').hidden = !on;
  const p = auth.person();
  $('who').textContent = on && p ? `${t('signed.in.as', p.name)}${p.depot ? ` · ${t('depot', p.depot)}` : ''}` : '';
}

// start(ready): translate, wire the buttons, finish a sign-in; ready() runs
// once signed in, on every sign-in.
export async function start(ready) {
  translate();
  $('signin').addEventListener('click', () => auth.signIn().catch((e) => message(t('signin.failed', e.message), 'error')));
  $('signout').addEventListener('click', () => auth.signOut());
  auth.onChange((why) => {
    show();
    if (why === 'expired') message(t('session.expired'), 'error');
    if (why === 'signout') message('');
  });
  try {
    await auth.init();
  } catch (e) {
    message(t('signin.failed', e.message), 'error');
  }
  show();
  if (!auth.configured()) {
    message(t('signin.unconfigured'), 'error');
    return;
  }
  if (!auth.signedIn()) {
    if (!$('message').textContent) message(t('signin.needed'));
    return;
  }
  await ready();
}
