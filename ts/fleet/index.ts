export * from './clusters.js';
export * from './nodes.js';
export * from './rows.js';
export * from './target.js';
