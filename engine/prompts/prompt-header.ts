/**
 * What a prompt file's header may hold (METHODS 6), checked field by field before anything in it is used:
 * the header comes from the party under suspicion, and its templates and class names end up in prompts, its
 * metrics in reports. Every string, list and record is bounded, so no header can make a reader allocate
 * without limit. The bounds are far above what any Vetbench method writes.
 */
export const PROMPT_KINDS = ['visual-deep', 'text-context', 'class-wise', 'cocoop'] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];

/** Methods that write prompt files: the prompt defenses and the BadCLIP prompt attack (and plain CoOp). */
export const PROMPT_METHOD_IDS: readonly string[] = ['rvpt', 'vpt', 'cbpt', 'coop', 'badclip-prompt'];

export const PROMPT_HEADER_LIMITS = {
  classes: 10_000,
  classNameChars: 200,
  templates: 64,
  templateChars: 300,
  params: 64,
  paramChars: 500,
  metrics: 64,
  /** Deepest first prompted block. */
  depth: 128,
} as const;

/** Metrics exported as percentages (CA, ASR, ...): anything outside [0, 100] is not a measurement. */
const PERCENT_METRICS = new Set(['ca', 'asr', 'asr_all', 'pa', 'ca_before', 'asr_before', 'pa_before']);

/** Header fields a prompt file may carry; anything else is refused. */
const KNOWN_FIELDS = new Set([
  'format',
  'formatVersion',
  'kind',
  'depth',
  'modelFingerprint',
  'classNames',
  'templates',
  'method',
  'metrics',
  'createdAt',
  'tool',
  'payloadSha256',
  'fieldSha256',
  'contentSha256',
]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

// Control characters have no place in a class name or template: they hide text in terminals and reports.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const quote = (s: string, max = 40): string => `'${s.length > max ? `${s.slice(0, max)}…` : s}'`;

/**
 * Returns the first problem with the prompt file's own fields (`undefined` when there is none). `header` is the
 * parsed JSON object; `requireAll` also checks the fields the writer adds (tool, creation time).
 */
export function promptHeaderProblem(
  h: Readonly<Record<string, unknown>>,
  requireAll = true,
): string | undefined {
  const L = PROMPT_HEADER_LIMITS;
  const unknown = Object.keys(h).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length > 0) return `its header has unknown field(s) ${unknown.map((k) => quote(k)).join(', ')}`;
  if (typeof h.kind !== 'string' || !(PROMPT_KINDS as readonly string[]).includes(h.kind)) {
    return `unknown kind ${quote(String(h.kind))} (known: ${PROMPT_KINDS.join(', ')})`;
  }
  if (h.kind === 'visual-deep') {
    if (typeof h.depth !== 'number' || !Number.isInteger(h.depth) || h.depth < 0 || h.depth > L.depth) {
      return `depth ${quote(String(h.depth))} is not a block index (0..${L.depth})`;
    }
  } else if (h.depth !== undefined) {
    return `a ${h.kind} prompt file has no depth (found ${quote(String(h.depth))})`;
  }

  const names = h.classNames;
  if (!Array.isArray(names) || names.length === 0 || names.length > L.classes) {
    return `its class names are not a list of 1 to ${L.classes} names`;
  }
  for (const name of names) {
    if (
      typeof name !== 'string' ||
      name.trim().length === 0 ||
      name.length > L.classNameChars ||
      CONTROL.test(name)
    ) {
      return `class name ${quote(String(name))} is empty, longer than ${L.classNameChars} characters or holds control characters`;
    }
  }
  if (new Set(names).size !== names.length) return 'its class names repeat';

  const templates = h.templates;
  if (!Array.isArray(templates) || templates.length === 0 || templates.length > L.templates) {
    return `its templates are not a list of 1 to ${L.templates} texts`;
  }
  for (const t of templates) {
    if (typeof t !== 'string' || t.length > L.templateChars || CONTROL.test(t)) {
      return `template ${quote(String(t))} is not text of at most ${L.templateChars} characters`;
    }
    if (t.split('{}').length !== 2)
      return `template ${quote(t)} does not hold the class slot '{}' exactly once`;
  }

  const method = h.method;
  if (!isRecord(method)) return 'the method (id, params, seed) is missing';
  if (typeof method.id !== 'string' || !PROMPT_METHOD_IDS.includes(method.id)) {
    return `method ${quote(String(method.id))} does not write prompt files (known: ${PROMPT_METHOD_IDS.join(', ')})`;
  }
  if (typeof method.seed !== 'number' || !Number.isSafeInteger(method.seed)) {
    return `the method's seed ${quote(String(method.seed))} is not an integer`;
  }
  const params = method.params;
  if (!isRecord(params) || Object.keys(params).length > L.params) {
    return `the method's params are not an object of at most ${L.params} values`;
  }
  for (const [key, value] of Object.entries(params)) {
    const ok =
      key.length <= 64 &&
      (typeof value === 'boolean' ||
        (typeof value === 'number' && Number.isFinite(value)) ||
        (typeof value === 'string' && value.length <= L.paramChars));
    if (!ok) return `the method's parameter ${quote(key)} is not a finite number, a boolean or a short text`;
  }
  const extra = Object.keys(method).filter((k) => !['id', 'params', 'seed'].includes(k));
  if (extra.length > 0) return `the method has unknown field(s) ${extra.map((k) => quote(k)).join(', ')}`;

  const metrics = h.metrics;
  if (!isRecord(metrics) || Object.keys(metrics).length > L.metrics) {
    return `its metrics are not an object of at most ${L.metrics} numbers`;
  }
  for (const [key, value] of Object.entries(metrics)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key)) return `metric name ${quote(key)} is not a plain name`;
    // null: not measured (a NaN at export time is written as null by JSON).
    if (value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value))
      return `metric ${quote(key)} is not a finite number`;
    if (PERCENT_METRICS.has(key) && (value < 0 || value > 100)) {
      return `metric ${quote(key)} is ${value}, not a percentage in [0, 100]`;
    }
  }

  if (requireAll || h.createdAt !== undefined) {
    if (
      typeof h.createdAt !== 'string' ||
      h.createdAt.length > 40 ||
      !Number.isFinite(Date.parse(h.createdAt))
    ) {
      return `its creation time ${quote(String(h.createdAt))} is not a date`;
    }
  }
  if (requireAll) {
    if (typeof h.tool !== 'string' || !/^vetbench( [\w.+-]{1,40})?$/.test(h.tool)) {
      return `its tool ${quote(String(h.tool))} is not a Vetbench version`;
    }
    if (typeof h.payloadSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(h.payloadSha256)) {
      return 'the payload hash is not a SHA-256';
    }
  }
  return undefined;
}
