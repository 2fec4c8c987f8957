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
    else out[key] = key === 'properties' || key === 'additionalProperties' || key === 'items' || key === 'propertyNames' ? mapChildren(key, value) : value;
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
        ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: toOpenApiSchema(spec.body) } } } } : {}),
        responses: {
          [spec.accepted ? '202' : spec.method === 'post' ? '201' : '200']: spec.stream
            ? { description: 'a stream of Server-Sent Events', content: { 'text/event-stream': { schema: { type: 'string' } } } }
            : { description: spec.accepted ? 'started: the body holds the operation id to follow' : 'ok' },
          400: error('bad input: the field and the fix'),
          401: error('no or invalid token'),
          403: error(`the token's scope is below ${spec.scope}`),
          404: error('no such resource'),
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
      schemas: { Error: errorSchema },
    },
    paths,
  };
}
