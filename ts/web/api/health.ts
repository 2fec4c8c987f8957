// The service's own health: is the database readable, which schema, is the UPS watcher running.
import { codeVersion, schemaVersion } from '../../db/index.js';
import { runningMonitor } from '../../power/index.js';
import type { ApiRoutes } from '../route.js';

export function healthRoutes(routes: ApiRoutes): void {
  routes.add({ method: 'get', path: '/health', scope: 'read', tag: 'health', summary: 'The service, its database and the UPS watcher' }, (c, { db, dbPath }) => {
    const monitor = runningMonitor(dbPath);
    return c.json({
      ok: true,
      schema: { database: schemaVersion(db), code: codeVersion() },
      watcher: monitor ? { running: true, pid: monitor.pid, startedAt: monitor.startedAt } : { running: false },
    });
  });
}
