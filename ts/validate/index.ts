import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { Ajv, ErrorObject, JSONSchemaType, ValidateFunction } from 'ajv';
import { quote, UserError } from '../errors.js';

const require = createRequire(import.meta.url);
let instance: Ajv | undefined;

/**
 * One ajv instance for every input mko accepts, made at the first validation: loading ajv is
 * a good part of a start-up, and `mko node list` validates nothing. Each property schema carries
 * a `hint`: the words that follow "must be" in the one-line error the user sees.
 */
function ajv(): Ajv {
  if (instance) return instance;
  const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
  const made = new AjvClass({ allErrors: false, strict: true, useDefaults: true, coerceTypes: false });
  made.addKeyword({ keyword: 'hint', schemaType: 'string' });
  made.addFormat('ip', { type: 'string', validate: (s: string) => isIP(s) !== 0 });
  made.addFormat('ipv4', { type: 'string', validate: (s: string) => isIP(s) === 4 });
  made.addFormat('host', { type: 'string', validate: (s: string) => isIP(s) !== 0 || HOSTNAME.test(s) });
  // `noTemplate: true` on a field that has no business holding a template; `printable: true` on
  // free text, which may (it reaches Ansible marked unsafe, see inventory/unsafe.ts) but is shown
  // on terminals. Their errors read as KEYWORD_HINTS say.
  made.addKeyword({ keyword: 'noTemplate', type: 'string', schemaType: 'boolean', errors: false, validate: (on: boolean, s: string) => !on || !TEMPLATE_MARKER.test(s) });
  made.addKeyword({ keyword: 'printable', type: 'string', schemaType: 'boolean', errors: false, validate: (on: boolean, s: string) => !on || !CONTROL_CHARACTER.test(s) });
  return (instance = made);
}

/** What starts a Jinja expression, statement or comment: Ansible would template a value holding one. */
export const TEMPLATE_MARKER = /\{[{%#]/;
/** C0 and C1 control characters (newlines, ESC, CSI...): shown on a terminal, they would rewrite it. */
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const KEYWORD_HINTS: Record<string, string> = {
  noTemplate: 'free of "{{", "{%" and "{#" (Ansible would run it as a template)',
  printable: 'one line of text without control characters',
};

export const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Reusable property schemas. */
export const field = {
  hostname: {
    type: 'string',
    pattern: HOSTNAME.source,
    hint: 'a hostname of letters, digits, hyphens and dots (RFC 1123), e.g. pi1 or pi1.lan',
  },
  address: { type: 'string', format: 'ip', hint: 'an IPv4 or IPv6 address, e.g. 192.168.1.10 or fd00::10' },
  ipv4: { type: 'string', format: 'ipv4', hint: 'an IPv4 address, e.g. 192.168.1.255' },
  host: { type: 'string', format: 'host', hint: 'a hostname or an IP address' },
  sshUser: { type: 'string', pattern: '^[a-z_][a-z0-9_-]{0,31}$', hint: 'a Unix user name, e.g. ubuntu' },
  port: { type: 'integer', minimum: 1, maximum: 65535, hint: 'a port number from 1 to 65535' },
  role: { type: 'string', enum: ['control-plane', 'worker'], hint: 'control-plane or worker' },
  clusterName: {
    type: 'string',
    pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
    hint: 'a name of up to 63 letters, digits, ".", "_" or "-", starting with a letter or digit, e.g. home',
  },
  channel: {
    type: 'string',
    pattern: '^(latest|[0-9]+\\.[0-9]+(-strict|-eksd)?)/(stable|candidate|beta|edge)$',
    hint: 'a MicroK8s snap channel like 1.31/stable',
  },
  mac: {
    type: 'string',
    pattern: '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$',
    hint: 'a MAC address like aa:bb:cc:dd:ee:ff',
  },
  vmid: { type: 'integer', minimum: 100, maximum: 999999999, hint: 'a Proxmox VM id from 100 to 999999999' },
  keyType: { type: 'string', enum: ['ed25519', 'rsa'], hint: 'ed25519 or rsa' },
  text: { type: 'string', maxLength: 1000, printable: true, hint: 'text of at most 1000 characters' },
  priority: { type: 'integer', minimum: 0, maximum: 1000000, hint: 'an integer from 0 to 1000000' },
  labels: {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z0-9]([A-Za-z0-9_./-]{0,61}[A-Za-z0-9])?$' },
    additionalProperties: { type: 'string', maxLength: 253, printable: true },
    hint: 'key=value pairs whose keys are letters, digits, "-", "_", "." or "/"',
  },
  addons: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
        args: { type: 'string', pattern: '^[^\\s\'"`$;|&]*$', noTemplate: true },
      },
      required: ['name', 'args'],
      additionalProperties: false,
    },
    hint: 'a comma-separated list of addon[:args], e.g. dns,ingress,metallb:10.0.0.10-10.0.0.20',
  },
} as const;

export interface FieldNames {
  /** How each property is spelled on the command line, e.g. { address: '--ip' }. */
  [property: string]: string;
}

const cache = new WeakMap<object, ValidateFunction>();

/** Validate `data` against `schema`; throw a one-line UserError naming the field on failure. */
export function validate<T>(schema: JSONSchemaType<T> | object, data: unknown, names: FieldNames = {}): T {
  let check = cache.get(schema);
  if (!check) {
    check = ajv().compile(schema);
    cache.set(schema, check);
  }
  if (check(data)) return data as T;
  const error = check.errors?.[0];
  throw new UserError(describe(error, schema, data, names), 1, errorProperty(error));
}

/** The top-level property an ajv error is about ('' for the whole value). */
function errorProperty(error: ErrorObject | undefined): string | undefined {
  if (!error) return undefined;
  if (error.keyword === 'required') return String((error.params as { missingProperty: string }).missingProperty);
  if (error.keyword === 'additionalProperties') return String((error.params as { additionalProperty: string }).additionalProperty);
  return error.instancePath.split('/').filter(Boolean)[0];
}

function describe(error: ErrorObject | undefined, schema: object, data: unknown, names: FieldNames): string {
  if (!error) return 'invalid input';
  const segments = error.instancePath.split('/').filter(Boolean);
  const property =
    error.keyword === 'required'
      ? String((error.params as { missingProperty: string }).missingProperty)
      : (segments[0] ?? '');
  const flag = names[property] ?? `--${property}`;
  if (error.keyword === 'required') return `missing ${flag}: it is required`;
  if (error.keyword === 'additionalProperties') {
    return `unknown option ${String((error.params as { additionalProperty: string }).additionalProperty)}`;
  }
  // A bare field schema (validated on its own, e.g. a role) carries its hint at the top.
  const propertySchema = property
    ? (schema as { properties?: Record<string, { hint?: string; writeOnly?: boolean }> }).properties?.[property]
    : (schema as { hint?: string; writeOnly?: boolean });
  const value = property ? (data as Record<string, unknown>)[property] : data;
  const hint = KEYWORD_HINTS[error.keyword] ?? propertySchema?.hint ?? error.message ?? 'valid';
  // A secret is never echoed, even a malformed one.
  if (propertySchema?.writeOnly) return `invalid ${flag}: must be ${hint} (the value is not shown)`;
  return `invalid ${flag} ${quote(value ?? null)}: must be ${hint}`;
}
