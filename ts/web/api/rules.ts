// Power rules (`mko ups rules`): when an event happens on a UPS, do an action to a cluster.
import { createRule, deleteRule, getRule, listActions, listRules, ruleFlags, ruleSchema, setRuleEnabled, updateRule, type RuleInput } from '../../power/index.js';
import { confirmBody, jsonBody, noFields, param, requireConfirm, type ApiRoutes } from '../route.js';

/** A change names only the fields it changes; null drops an optional one. */
const ruleUpdateSchema = {
  ...ruleSchema,
  properties: Object.fromEntries(
    Object.entries(ruleSchema.properties).map(([name, property]) => [name, { anyOf: [property, { type: 'null' }], hint: `${property.hint}, or null to drop it` }]),
  ),
  required: [],
};

export function ruleRoutes(routes: ApiRoutes): void {
  routes.add({ method: 'get', path: '/rules', scope: 'read', tag: 'rules', summary: 'Every power rule (?ups=name)' }, (c, { db }) => {
    const ups = c.req.query('ups');
    return c.json({ rules: listRules(db, ups ? { ups } : {}) });
  });
  routes.add({ method: 'get', path: '/rules/:rule', scope: 'read', tag: 'rules', summary: 'One rule with its latest actions' }, (c, { db }) => {
    const rule = getRule(db, param(c, 'rule'));
    return c.json({ rule, actions: listActions(db, { ruleId: rule.id, limit: 10 }) });
  });
  routes.add({ method: 'post', path: '/rules', scope: 'admin', tag: 'rules', summary: 'Create a rule: when event happens on ups, do action to cluster', body: ruleSchema, fields: ruleFlags, created: true }, async (c, { db }) =>
    c.json({ rule: createRule(db, (await jsonBody(c)) as unknown as RuleInput) }, 201),
  );
  routes.add({ method: 'patch', path: '/rules/:rule', scope: 'admin', tag: 'rules', summary: 'Change a rule (checked as a new one is)', body: ruleUpdateSchema, fields: ruleFlags }, async (c, { db }) =>
    c.json({ rule: updateRule(db, param(c, 'rule'), await jsonBody(c)) }),
  );
  for (const enabled of [true, false]) {
    const verb = enabled ? 'enable' : 'disable';
    routes.add({ method: 'post', path: `/rules/:rule/${verb}`, scope: 'admin', tag: 'rules', summary: enabled ? 'Enable a rule' : 'Disable a rule (its pending actions are dropped when they fall due)', body: noFields }, (c, { db }) => {
      const rule = setRuleEnabled(db, param(c, 'rule'), enabled);
      return c.json({ rule, status: rule.enabled ? 'enabled' : 'disabled' });
    });
  }
  routes.add({ method: 'delete', path: '/rules/:rule', scope: 'admin', tag: 'rules', summary: 'Delete a rule and its action history; needs {"confirm": true}', body: confirmBody() }, async (c, { db }) => {
    const rule = getRule(db, param(c, 'rule'));
    requireConfirm(await jsonBody(c), `delete rule ${rule.name}`);
    return c.json({ deleted: deleteRule(db, rule.name).name });
  });
}
