import type { Command } from 'commander';
import { ATTACKS, DEFENSES, TRIGGER_FAMILIES } from '../../../engine/methods/registry.js';
import type { ParamSpecs } from '../../../engine/methods/params.js';
import { emit } from '../output.js';

function describeParams(params: ParamSpecs): string[] {
  return Object.entries(params).map(([key, p]) => {
    const range =
      p.kind === 'enum'
        ? ` {${p.options.join('|')}}`
        : (p.kind === 'number' || p.kind === 'integer') && (p.min !== undefined || p.max !== undefined)
          ? ` [${p.min ?? ''}..${p.max ?? ''}]`
          : '';
    return `    ${key}=${String(p.default)}${range}  ${p.help}`;
  });
}

export function registerMethods(program: Command): void {
  program
    .command('methods')
    .description('list every trigger, attack and defense with its parameters, defaults and paper')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const triggers = TRIGGER_FAMILIES.map((t) => ({
        id: t.id,
        kind: 'trigger',
        title: t.title,
        summary: t.summary,
        paper: t.paper,
        params: t.params,
      }));
      const attacks = ATTACKS.map((a) => ({
        id: a.id,
        kind: a.kind,
        title: a.title,
        summary: a.summary,
        paper: a.paper,
        params: a.params,
      }));
      const defenses = DEFENSES.map((d) => ({
        id: d.id,
        kind: d.kind,
        title: d.title,
        summary: d.summary,
        paper: d.paper,
        params: d.params,
      }));
      emit(opts.json === true, { triggers, attacks, defenses }, () =>
        [
          'Triggers (vetbench eval --trigger <id> --param key=value):',
          ...triggers.flatMap((t) => [
            `  ${t.id}: ${t.title}. ${t.summary}`,
            `    paper: ${t.paper}`,
            ...describeParams(t.params),
          ]),
          '',
          'Attacks (vetbench attack <id> --param key=value):',
          ...attacks.flatMap((a) => [`  ${a.id}: ${a.title}. ${a.summary}`, ...describeParams(a.params)]),
          '',
          'Defenses (vetbench defend <id> --param key=value):',
          ...defenses.flatMap((d) => [
            `  ${d.id}: ${d.title}. ${d.summary}`,
            `    paper: ${d.paper}`,
            ...describeParams(d.params),
          ]),
        ].join('\n'),
      );
    });
}
