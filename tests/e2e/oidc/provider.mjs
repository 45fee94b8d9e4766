// tests/e2e/oidc/provider.mjs - a real OpenID provider (oidc-provider, from
// node_modules) for tests/e2e/65-oidc.sh, on 127.0.0.1 only.
//
//   node provider.mjs PORT KEYDIR
//
// KEYDIR holds rsa.pem, ec.pem (P-256) and ed.pem (Ed25519), made by the test
// with openssl, so the test can also sign tokens of its own with them.  The
// signing keys' ids are rsa-1, ec-1 and ed-1.  Each test user is a client
// that gets its access tokens with the client_credentials grant (no
// browser): a JWT for the resource urn:waybill:api (or urn:other:api, for a
// token with the wrong audience), signed with the user's algorithm, carrying
// the user's preferred_username, groups and depot.  sub is the client id.
// Every client's secret is "secret-" + its id.
//
// The station pages (tests/e2e/67-station.sh) sign people in through the
// browser instead: the public client waybill-station (no secret, the code
// flow with PKCE, redirect URIs http://127.0.0.1:ANY-PORT/station/ and
// /station/audit, since the daemon's port is picked after the provider
// starts), and the people below, who type their name and password into
// this provider's own login page (/interaction/UID).  Their access tokens
// carry the same claims as the client users'.
import { createPrivateKey, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const [port, keydir] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

function jwk(file, kid, alg) {
  const k = createPrivateKey(readFileSync(`${keydir}/${file}`)).export({ format: 'jwk' });
  return { ...k, kid, alg, use: 'sig' };
}

// client id -> the claims its tokens carry, and the algorithm that signs them
const users = {
  courier1: { alg: 'RS256', claims: { preferred_username: 'courier1', groups: ['staff', 'wb-couriers'], depot: 'D1' } },
  courier2: { alg: 'EdDSA', claims: { preferred_username: 'courier2', groups: ['wb-couriers'], depot: 'D2' } },
  depot1: { alg: 'ES256', claims: { preferred_username: 'depot1', groups: 'wb-depot', depot: 'D1' } },
  admin1: { alg: 'EdDSA', claims: { preferred_username: 'admin1', groups: ['wb-admins'] } },
  auditor1: { alg: 'RS256', claims: { preferred_username: 'auditor1', groups: ['wb-audit'] } },
  tel1: { alg: 'ES256', claims: { preferred_username: 'tel1', groups: ['wb-tel'] } },
  // identities the daemon must refuse with 403: no mapped group, two roles,
  // a courier without a depot
  nobody1: { alg: 'RS256', claims: { preferred_username: 'nobody1', groups: ['staff'] } },
  twohats: { alg: 'RS256', claims: { preferred_username: 'twohats', groups: ['wb-admins', 'wb-audit'] } },
  nodepot: { alg: 'RS256', claims: { preferred_username: 'nodepot', groups: ['wb-couriers'] } },
  // a name that is no account name: 401
  badname: { alg: 'RS256', claims: { preferred_username: 'Bad Name', groups: ['wb-admins'] } },
};

// People who sign in at the login page: name -> password and claims.
// depot2 is staff of another depot (D2): the insider of the station test.
const people = {
  depot1: { password: 'pw-depot1', claims: { preferred_username: 'depot1', groups: 'wb-depot', depot: 'D1' } },
  depot2: { password: 'pw-depot2', claims: { preferred_username: 'depot2', groups: 'wb-depot', depot: 'D2' } },
  auditor1: { password: 'pw-auditor1', claims: { preferred_username: 'auditor1', groups: ['wb-audit'] } },
  courier1: { password: 'pw-courier1', claims: { preferred_username: 'courier1', groups: ['wb-couriers'], depot: 'D1' } },
};
const STATION = 'waybill-station';
users[STATION] = { alg: 'ES256' };
const stationRedirect = /^http:\/\/127\.0\.0\.1:[0-9]{1,5}\/station\/(audit)?$/;
const stationOrigin = /^http:\/\/127\.0\.0\.1:[0-9]{1,5}$/;

const configuration = {
  clients: [
    ...Object.keys(users).filter((id) => id !== STATION).map((id) => ({
      client_id: id,
      client_secret: `secret-${id}`,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    })),
    {
      client_id: STATION,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/station/'],
      post_logout_redirect_uris: ['http://127.0.0.1/station/'],
    },
  ],
  findAccount: (ctx, id) => (people[id] ? { accountId: id, claims: () => ({ sub: id, ...people[id].claims }) } : undefined),
  claims: { openid: ['sub'], profile: ['preferred_username'] },
  clientBasedCORS: (ctx, origin, client) => client.clientId === STATION && stationOrigin.test(origin),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 300, IdToken: 300, Session: 3600, Interaction: 600, Grant: 3600 },
  jwks: { keys: [jwk('rsa.pem', 'rsa-1', 'RS256'), jwk('ec.pem', 'ec-1', 'ES256'), jwk('ed.pem', 'ed-1', 'EdDSA')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // Its own plain pages: the defaults load a web font from the internet.
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: (ctx, form) => {
        ctx.body = `<!doctype html><html><head><meta charset="utf-8"><title>Sign out</title></head><body>
<h1>Sign out of the company account?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button></body></html>`;
      },
      postLogoutSuccessSource: (ctx) => {
        ctx.body = '<!doctype html><html><head><meta charset="utf-8"><title>Signed out</title></head><body><h1>Signed out</h1></body></html>';
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:waybill:api',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => {
        if (resource !== 'urn:waybill:api' && resource !== 'urn:other:api') throw new Error('unknown resource');
        return {
          scope: 'api',
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: users[client.clientId].alg } },
        };
      },
    },
  },
  extraTokenClaims: (ctx, token) => (token.accountId ? people[token.accountId]?.claims : users[token.clientId]?.claims),
  cookies: { keys: ['waybill-e2e-only'] },
};

const provider = new Provider(issuer, configuration);
// The station's redirect URIs name the daemon's port, which is picked later.
const redirectAllowed = provider.Client.prototype.redirectUriAllowed;
provider.Client.prototype.redirectUriAllowed = function (uri) {
  return this.clientId === STATION ? stationRedirect.test(uri) : redirectAllowed.call(this, uri);
};
const logoutAllowed = provider.Client.prototype.postLogoutRedirectUriAllowed;
provider.Client.prototype.postLogoutRedirectUriAllowed = function (uri) {
  return this.clientId === STATION ? stationRedirect.test(uri) : logoutAllowed.call(this, uri);
};

const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function loginPage(uid, error) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Company sign-in</title></head><body>
<h1>Company sign-in</h1>${error ? `<p id="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label>Name <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password"></label>
<button id="login" type="submit">Sign in</button></form></body></html>`;
}
function passwordOk(name, pw) {
  const want = Buffer.from(people[name]?.password ?? '\0');
  const got = Buffer.from(String(pw));
  return !!people[name] && want.length === got.length && timingSafeEqual(want, got);
}
async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 4096) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// The login and consent steps: a password form, then the grant the first-party
// station always gets (the scopes and the API resource it asked for).
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  if (req.method === 'POST' && req.url.endsWith('/login')) {
    const f = await readForm(req);
    if (!passwordOk(f.get('username'), f.get('password'))) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(loginPage(uid, 'Wrong name or password'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: f.get('username') } }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'login') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    return res.end(loginPage(uid));
  }
  const grant = details.grantId ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const d = prompt.details;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes || {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((e) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(`interaction failed: ${e.message}`);
    });
    return;
  }
  callback(req, res);
}).listen(Number(port), '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
