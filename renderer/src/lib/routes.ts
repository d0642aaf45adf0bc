/** The app's screens as hash routes (#/runs/3), so the browser's back button and reloads work. */
import type { RunKind } from '../../../electron/api/contract.js';

export type WizardKind = Extract<RunKind, 'attack' | 'defense'>;

export type Route =
  | { readonly name: 'project' }
  | { readonly name: 'models' }
  | { readonly name: 'datasets' }
  | { readonly name: 'vet' }
  | { readonly name: 'explain' }
  | { readonly name: 'wizard'; readonly kind: WizardKind }
  | { readonly name: 'runs' }
  | { readonly name: 'run'; readonly runId: number }
  | { readonly name: 'compare'; readonly runIds: readonly number[] }
  | { readonly name: 'comparison'; readonly comparisonId: number };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [head, arg] = parts;
  switch (head) {
    case 'models':
      return { name: 'models' };
    case 'datasets':
      return { name: 'datasets' };
    case 'vet':
      return { name: 'vet' };
    case 'explain':
      return { name: 'explain' };
    case 'attack':
      return { name: 'wizard', kind: 'attack' };
    case 'defend':
      return { name: 'wizard', kind: 'defense' };
    case 'runs': {
      const runId = Number(arg);
      return arg !== undefined && Number.isInteger(runId) && runId > 0
        ? { name: 'run', runId }
        : { name: 'runs' };
    }
    case 'compare': {
      const runIds = (arg ?? '')
        .split(',')
        .map(Number)
        .filter((id) => Number.isInteger(id) && id > 0);
      return { name: 'compare', runIds };
    }
    case 'comparisons': {
      const comparisonId = Number(arg);
      return Number.isInteger(comparisonId) && comparisonId > 0
        ? { name: 'comparison', comparisonId }
        : { name: 'compare', runIds: [] };
    }
    default:
      return { name: 'project' };
  }
}

export function routeHash(route: Route): string {
  switch (route.name) {
    case 'project':
      return '#/';
    case 'wizard':
      return route.kind === 'attack' ? '#/attack' : '#/defend';
    case 'run':
      return `#/runs/${route.runId}`;
    case 'compare':
      return `#/compare/${route.runIds.join(',')}`;
    case 'comparison':
      return `#/comparisons/${route.comparisonId}`;
    default:
      return `#/${route.name}`;
  }
}
