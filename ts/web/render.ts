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
}

/** A whole page: the named template inside the layout. */
export function renderPage(name: string, frame: PageFrame, data: object): string {
  const body = template(name)(data);
  return template('layout')({ ...frame, page: name, body });
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
