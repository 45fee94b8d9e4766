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
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

const configuration = {
  clients: Object.keys(users).map((id) => ({
    client_id: id,
    client_secret: `secret-${id}`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  })),
  jwks: { keys: [jwk('rsa.pem', 'rsa-1', 'RS256'), jwk('ec.pem', 'ec-1', 'ES256'), jwk('ed.pem', 'ed-1', 'EdDSA')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
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
  extraTokenClaims: (ctx, token) => users[token.clientId]?.claims,
  cookies: { keys: ['waybill-e2e-only'] },
};

const provider = new Provider(issuer, configuration);
provider.listen(Number(port), '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
