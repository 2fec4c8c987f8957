// Server-side pages: handlebars templates from templates/web, compiled once, HTML-escaped.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { templatesDir } from '../paths.js';

const webTemplates = path.join(templatesDir, 'web');
const hbs = Handlebars.create();
for (const file of readdirSync(path.join(webTemplates, 'partials'))) {
  hbs.registerPartial(path.basename(file, '.hbs'), readFileSync(path.join(webTemplates, 'partials', file), 'utf8'));
}
const compiled = new Map<string, Handlebars.TemplateDelegate>();

function template(name: string): Handlebars.TemplateDelegate {
  let t = compiled.get(name);
  if (!t) {
    t = hbs.compile(readFileSync(path.join(webTemplates, `${name}.hbs`), 'utf8'));
    compiled.set(name, t);
  }
  return t;
}

export interface PageFrame {
  title: string;
  /** The signed-in token's name; absent on the login page. */
  user?: string;
  csrf?: string;
  /** The signed-in token's scope, and the API's routes above read (scopeTable's JSON). */
  scope?: string;
  routes?: string;
}

/** A whole page: the named template inside the layout. */
export function renderPage(name: string, frame: PageFrame, data: object): string {
  const body = template(name)(data);
  return template('layout')({ ...frame, page: name, body });
}

const SLOT = '\u0000mko-slot\u0000';

/**
 * A whole page as UTF-8 bytes, with `slot.bytes` (already encoded) where the template puts
 * `{{{<slot.name>}}}`: a large part many clients ask for is encoded once, not on every request
 * (encoding 160 KB of HTML cost more than everything else a cached dashboard request does).
 */
export function renderPageBytes(name: string, frame: PageFrame, data: object, slot: { name: string; bytes: Uint8Array }): Buffer<ArrayBuffer> {
  const page = renderPage(name, frame, { ...data, [slot.name]: SLOT });
  const at = page.indexOf(SLOT);
  if (at < 0 || page.indexOf(SLOT, at + 1) >= 0) throw new Error(`page ${name} must show {{{${slot.name}}}} once`);
  return Buffer.concat([Buffer.from(page.slice(0, at)), slot.bytes, Buffer.from(page.slice(at + SLOT.length))]);
}

/** A partial alone, for the parts of a page that refresh live. */
export function renderPartial(name: string, data: object): string {
  const partial = hbs.partials[name] as string | Handlebars.TemplateDelegate | undefined;
  if (partial === undefined) throw new Error(`no partial ${name}`);
  const t = typeof partial === 'string' ? hbs.compile(partial) : partial;
  hbs.partials[name] = t;
  return t(data);
}

const STATIC_TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** The stylesheet and the script, read once. */
export const staticFiles: ReadonlyMap<string, { type: string; body: string }> = new Map(
  readdirSync(path.join(webTemplates, 'static')).map((file) => [
    file,
    { type: STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream', body: readFileSync(path.join(webTemplates, 'static', file), 'utf8') },
  ]),
);
