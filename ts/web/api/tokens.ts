// API tokens (`mko web token create|list|revoke`): admin only. A new token's secret is in the
// creation answer once and never again; the list shows each token's first characters.
import { createToken, listTokens, revokeToken, tokenSchema } from '../tokens.js';
import { confirmBody, jsonBody, param, requireConfirm, type ApiRoutes } from '../route.js';

export function tokenRoutes(routes: ApiRoutes): void {
  routes.add({ method: 'get', path: '/tokens', scope: 'admin', tag: 'tokens', summary: 'Every token with its scope and first characters (never the token itself)' }, (c, { db }) =>
    c.json({ tokens: listTokens(db) }),
  );
  routes.add({ method: 'post', path: '/tokens', scope: 'admin', tag: 'tokens', summary: 'Make a token; the answer holds it this once, it is stored hashed', body: tokenSchema, created: true }, async (c, { db }) => {
    const body = await jsonBody(c);
    const { token, secret } = createToken(db, { name: body['name'] as string, scope: body['scope'] as string });
    return c.json({ token, secret }, 201);
  });
  routes.add(
    { method: 'post', path: '/tokens/:token/revoke', scope: 'admin', tag: 'tokens', summary: 'Revoke a token (by name or id) with its sessions; needs {"confirm": true}', body: confirmBody() },
    async (c, { db }) => {
      requireConfirm(await jsonBody(c), `revoke token ${param(c, 'token')}`);
      return c.json({ token: revokeToken(db, param(c, 'token')) });
    },
  );
}
