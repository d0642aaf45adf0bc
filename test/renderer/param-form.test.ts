import { describe, expect, it } from 'vitest';
import { ParamForm } from '../../renderer/src/state/param-form.svelte.js';
import { describeRange, paramLabel, parseParam } from '../../renderer/src/lib/param-validation.js';
import { ATTACK_METHOD } from './fake-api.js';

describe('generated parameter forms', () => {
  it('starts at the declared defaults and sends them', () => {
    const form = new ParamForm(ATTACK_METHOD.params);
    expect(form.valid).toBe(true);
    expect(form.changed).toEqual([]);
    expect(form.values()).toEqual({ epochs: 10, poisonRate: 0.1, augment: false, optimizer: 'adamw' });
  });

  it('validates ranges and integers as the user types, and recovers', () => {
    const form = new ParamForm(ATTACK_METHOD.params);
    form.set('epochs', '0');
    expect(form.errors).toEqual({ epochs: 'At least 1.' });
    expect(form.valid).toBe(false);
    expect(form.values()).toBeNull();
    form.set('epochs', '2.5');
    expect(form.errors.epochs).toBe('Enter a whole number.');
    form.set('poisonRate', 'abc');
    expect(form.errors.poisonRate).toBe('"abc" is not a number.');
    form.set('epochs', '1');
    form.set('poisonRate', '0.25');
    expect(form.valid).toBe(true);
    expect(form.changed).toEqual(['epochs', 'poisonRate']);
    expect(form.values()).toMatchObject({ epochs: 1, poisonRate: 0.25 });
    form.reset();
    expect(form.changed).toEqual([]);
  });

  it('refuses an enum value outside the options and describes ranges', () => {
    expect(parseParam(ATTACK_METHOD.params.optimizer!, 'adam')).toEqual({
      ok: false,
      error: 'Choose one of: adamw, sgd.',
    });
    expect(describeRange(ATTACK_METHOD.params.poisonRate!)).toBe('0 – 1');
    expect(describeRange({ kind: 'integer', default: 1, min: 1, help: '' })).toBe('≥ 1');
    expect(paramLabel('poisonRate')).toBe('Poison rate');
    expect(paramLabel('prompt_depth')).toBe('Prompt depth');
    expect(paramLabel('lr')).toBe('Learning rate');
    expect(paramLabel('inversionLr')).toBe('Inversion learning rate');
    expect(paramLabel('ctxInit')).toBe('Context init');
    expect(paramLabel('woTC')).toBe('Without the target class');
  });
});
