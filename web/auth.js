// auth.js - sign-in at the company's OpenID provider (authorization code
// flow with PKCE, a public client: no secret) and API calls with the token.
//
// The tokens live in this module's variables only: never in a cookie,
// localStorage or sessionStorage, so a reload signs the person in again.
// Only the PKCE verifier and the state cross the redirect, in
// sessionStorage, and are removed as soon as the provider sends the person
// back.  The API is called with an Authorization header and never with
// cookies (credentials: 'omit'): no other site can make the browser send a
// request the API would accept.
const PENDING = 'waybill.signin';

let cfg = null;   // /station/config.json
let disc = null;  // the provider's discovery document
let access = null;
let idToken = null;
let who = null;   // claims to show: name, depot, groups
let expiry = null;
const listeners = [];

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(n) {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

async function challengeOf(verifier) {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(d));
}

// The claims of a JWT, unverified: for display and the nonce only (the API
// checks every token itself).
function claimsOf(jwt) {
  try {
    const p = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(p + '='.repeat((4 - (p.length % 4)) % 4));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

function redirectUri() {
  return location.origin + location.pathname;
}

function notify(reason) {
  for (const f of listeners) f(reason);
}

// onChange(f): f(reason) whenever the person signs in or out (reason:
// 'signin', 'signout', 'expired').
export function onChange(f) {
  listeners.push(f);
}

export function configured() {
  return !!(cfg && cfg.issuer && disc);
}

export function signedIn() {
  return access !== null;
}

export function person() {
  return who;
}

function forget(reason) {
  const was = access !== null;
  access = null;
  who = null;
  if (expiry) clearTimeout(expiry);
  expiry = null;
  if (was) notify(reason);
}

// init(): read the configuration and the discovery document, and finish a
// sign-in when the provider has just sent the person back with a code.
export async function init() {
  cfg = await (await fetch('config.json', { credentials: 'omit' })).json();
  if (!cfg.issuer) return;
  const base = cfg.issuer.replace(/\/$/, '');
  disc = await (await fetch(`${base}/.well-known/openid-configuration`, { credentials: 'omit' })).json();
  if (disc.issuer !== cfg.issuer) throw new Error('the discovery document names another issuer');
  const q = new URLSearchParams(location.search);
  if (!q.has('code') && !q.has('error')) return;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', location.pathname); // the code leaves the address bar
  if (q.has('error')) throw new Error(q.get('error_description') || q.get('error'));
  if (!pending || pending.state !== q.get('state')) throw new Error('state mismatch');
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: q.get('code'),
    redirect_uri: redirectUri(),
    client_id: cfg.client_id,
    code_verifier: pending.verifier,
  });
  if (cfg.resource) body.set('resource', cfg.resource);
  const res = await fetch(disc.token_endpoint, { method: 'POST', body, credentials: 'omit' });
  const tok = await res.json();
  if (!res.ok || !tok.access_token) throw new Error(tok.error_description || tok.error || `HTTP ${res.status}`);
  const idc = tok.id_token ? claimsOf(tok.id_token) : null;
  if (tok.id_token && (!idc || idc.nonce !== pending.nonce)) throw new Error('nonce mismatch');
  access = tok.access_token;
  idToken = tok.id_token || null;
  const ac = claimsOf(access) || {};
  who = {
    name: ac.preferred_username || idc?.preferred_username || ac.sub || idc?.sub || '',
    depot: ac.depot || idc?.depot || '',
  };
  const ttl = Number(tok.expires_in) > 0 ? Number(tok.expires_in) : 300;
  expiry = setTimeout(() => forget('expired'), ttl * 1000);
  notify('signin');
}

// signIn(): off to the provider's login page; it sends the person back here.
export async function signIn() {
  const verifier = randomString(48);
  const pending = { verifier, state: randomString(16), nonce: randomString(16) };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.client_id,
    redirect_uri: redirectUri(),
    scope: cfg.scope || 'openid',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: 'S256',
  });
  if (cfg.resource) q.set('resource', cfg.resource);
  location.assign(`${disc.authorization_endpoint}?${q}`);
}

// signOut(): the tokens are dropped here, then the provider ends its session.
export function signOut() {
  const hint = idToken;
  idToken = null;
  forget('signout');
  if (disc && disc.end_session_endpoint) {
    const q = new URLSearchParams({ client_id: cfg.client_id, post_logout_redirect_uri: redirectUri() });
    if (hint) q.set('id_token_hint', hint);
    location.assign(`${disc.end_session_endpoint}?${q}`);
  }
}

// api(method, path, body?): fetch with the bearer token.  A 401 means the
// token is no good any more: it is dropped and the page asks to sign in.
export async function api(method, path, body) {
  if (!access) throw new Error('not signed in');
  const headers = { Authorization: `Bearer ${access}` };
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) forget('expired');
  return res;
}

// errorOf(res): the API's error body {error:{code,message}}, or a stand-in.
export async function errorOf(res) {
  try {
    const j = await res.json();
    if (j && j.error) return j.error;
  } catch { /* not JSON */ }
  return { code: `http_${res.status}`, message: `HTTP ${res.status}` };
}
