/** The current screen, following location.hash. */
import { parseRoute, routeHash, type Route } from '../lib/routes.js';

export class Router {
  route = $state<Route>({ name: 'project' });

  constructor(private readonly location: { hash: string } = window.location) {
    this.route = parseRoute(location.hash);
  }

  /** Call on 'hashchange'. */
  sync(): void {
    this.route = parseRoute(this.location.hash);
  }

  go(route: Route): void {
    this.location.hash = routeHash(route);
    this.route = route;
  }
}
