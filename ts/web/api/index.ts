import { ApiRoutes } from '../route.js';
import { actionRoutes } from './actions.js';
import { checkRoutes } from './checks.js';
import { doctorRoutes } from './doctor.js';
import { fleetRoutes } from './fleet.js';
import { hardwareRoutes } from './hardware.js';
import { healthRoutes } from './health.js';
import { operationRoutes } from './operations.js';
import { proxmoxRoutes } from './proxmox.js';
import { ruleRoutes } from './rules.js';
import { sleepRoutes } from './sleep.js';
import { tokenRoutes } from './tokens.js';
import { upsRoutes } from './ups.js';
import { wolRoutes } from './wol.js';

/** Every /api/v1 route, declared once (the router and the OpenAPI document read the same list). */
export function apiRoutes(): ApiRoutes {
  const routes = new ApiRoutes();
  healthRoutes(routes);
  fleetRoutes(routes);
  operationRoutes(routes);
  upsRoutes(routes);
  ruleRoutes(routes);
  actionRoutes(routes);
  proxmoxRoutes(routes);
  tokenRoutes(routes);
  hardwareRoutes(routes);
  wolRoutes(routes);
  checkRoutes(routes);
  doctorRoutes(routes);
  sleepRoutes(routes);
  return routes;
}
