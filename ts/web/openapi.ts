// The OpenAPI 3.1 document of /api/v1, generated from the declared routes and the domain's own
// ajv schemas (their `hint` becomes the description; mko's own keywords become x- extensions).
import type { RouteSpec } from './route.js';

const MKO_KEYWORDS = new Set(['printable', 'noTemplate']);

export function toOpenApiSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toOpenApiSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'hint') out['description'] = value;
    else if (MKO_KEYWORDS.has(key)) out[`x-mko-${key}`] = value;
    else out[key] = key === 'properties' || key === 'additionalProperties' || key === 'items' || key === 'propertyNames' || key === 'anyOf' ? mapChildren(key, value) : value;
  }
  return out;
}

function mapChildren(key: string, value: unknown): unknown {
  if (key !== 'properties' || typeof value !== 'object' || value === null) return toOpenApiSchema(value);
  return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, toOpenApiSchema(child)]));
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string', description: 'one line: what is wrong and the fix, as the CLI says it' }, field: { type: ['string', 'null'] } },
  required: ['error', 'field'],
};

/** What a route answers when it works: 202 for a long action, 201 for a new record, else 200. */
export function successStatus(spec: RouteSpec): '200' | '201' | '202' {
  return spec.accepted ? '202' : spec.created ? '201' : '200';
}

function success(spec: RouteSpec): object {
  if (spec.stream) return { description: 'a stream of Server-Sent Events', content: { 'text/event-stream': { schema: { type: 'string' } } } };
  if (spec.accepted) return { description: 'started: follow the operation', content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } } };
  return { description: spec.created ? 'created' : 'ok', content: { 'application/json': { schema: { type: 'object' } } } };
}

const acceptedSchema = {
  type: 'object',
  properties: {
    operationId: { type: 'integer', description: 'the operation (GET /api/v1/operations/{operation})' },
    status: { type: 'string', enum: ['running'] },
    events: { type: 'string', description: 'the URL of its Server-Sent Events: log lines, then end' },
  },
  required: ['operationId', 'status', 'events'],
};

export function openApiDocument(specs: readonly RouteSpec[], prefix: string): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const path = prefix + spec.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters = [...spec.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' }, description: 'a name, or an id (a plain number)' }));
    const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
    paths[path] = {
      ...paths[path],
      [spec.method]: {
        summary: spec.summary,
        tags: [spec.tag],
        'x-mko-scope': spec.scope,
        ...(parameters.length ? { parameters } : {}),
        // No body at all is an empty object: only a body with required fields must be sent.
        ...(spec.body ? { requestBody: { required: ((spec.body as { required?: string[] }).required ?? []).length > 0, content: { 'application/json': { schema: toOpenApiSchema(spec.body) } } } } : {}),
        responses: {
          [successStatus(spec)]: success(spec),
          400: error('bad input: the field and the fix'),
          401: error('no or invalid token'),
          403: error(`the token's scope is below ${spec.scope}`),
          404: error('no such resource'),
          ...(spec.method === 'get' ? {} : { 409: error('a clash: it already exists, or already runs') }),
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'mko', version: '1', description: 'MicroK8s clusters on machines you own. Every action the mko CLI has, as an authenticated API call.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a token from mko web token create' },
        session: { type: 'apiKey', in: 'cookie', name: 'mko_session', description: 'browser session; changes also need the X-CSRF-Token header' },
      },
      schemas: { Error: errorSchema, Accepted: acceptedSchema },
    },
    paths,
  };
}
