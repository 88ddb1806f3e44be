// A real OpenID Connect provider for Branchdesk's single sign-on tests (never deployed).
//
// oidc-provider (certified by the OpenID Foundation) with its development login form: any
// password signs in the account named in "login". Started by tests/oidc_provider.py on a
// free 127.0.0.1 port, configured from the environment:
//
//   OIDC_PORT      the port to listen on (127.0.0.1 only)
//   OIDC_ISSUER    the issuer (default http://127.0.0.1:<port>)
//   OIDC_CLIENTS   JSON list of clients (client_id, client_secret, redirect_uris,
//                  post_logout_redirect_uris)
//   OIDC_JWKS      JSON {keys: [...]} private signing keys (the test makes them)
//   OIDC_ACCOUNTS  JSON list of accounts ({id, email, email_verified, name, groups})
//
// Two test-only controls, reached over loopback by the fixture (not part of any provider):
//   POST /__test__/accounts  {id, email, email_verified, name, groups}  adds or changes one
//   POST /__test__/clock     {offset_seconds}  shifts the clock of the token endpoint, so
//                            the ID tokens it issues are already expired (or not yet valid)
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = process.env.OIDC_ISSUER || `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
const jwks = JSON.parse(process.env.OIDC_JWKS);
const accounts = new Map(
  JSON.parse(process.env.OIDC_ACCOUNTS || '[]').map((account) => [account.id, account]),
);
let tokenClockOffsetSeconds = 0;

const provider = new Provider(issuer, {
  clients: clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks,
  cookies: { keys: ['branchdesk-test-provider-cookie-key'] },
  // Banks' providers put the profile, e-mail and groups into the ID token (Keycloak's
  // mappers, Entra's optional claims): so does this one.
  conformIdTokenClaims: false,
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Session: 3600, Grant: 3600 },
  async findAccount(ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: account.email,
          email_verified: account.email_verified !== false,
          name: account.name,
          groups: account.groups || [],
        };
      },
    };
  },
  // First-party clients: the staff member is not asked to consent to the bank's own app.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

function readJson(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      try { resolve(JSON.parse(body || '{}')); } catch (error) { reject(error); }
    });
    req.on('error', reject);
  });
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test__/accounts' && ctx.method === 'POST') {
    const account = await readJson(ctx.req);
    accounts.set(account.id, account);
    ctx.body = { ok: true };
    return;
  }
  if (ctx.path === '/__test__/clock' && ctx.method === 'POST') {
    tokenClockOffsetSeconds = Number((await readJson(ctx.req)).offset_seconds || 0);
    ctx.body = { ok: true, offset_seconds: tokenClockOffsetSeconds };
    return;
  }
  if (tokenClockOffsetSeconds && ctx.path.endsWith('/token')) {
    const realNow = Date.now;
    Date.now = () => realNow() + tokenClockOffsetSeconds * 1000;
    try {
      await next();
    } finally {
      Date.now = realNow;
    }
    return;
  }
  await next();
});

const server = http.createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening at ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
