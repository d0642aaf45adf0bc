import type { AttackMethod } from '../attacks/attack.js';
import { poisoningAttack } from '../attacks/poisoning-attack.js';
import { cleanClipDefense } from '../defenses/baselines/cleanclip.js';
import { cbptDefense } from '../defenses/cbpt/cbpt.js';
import { finetuneDefense } from '../defenses/baselines/finetune.js';
import { linearProbeDefense } from '../defenses/baselines/linear-probe.js';
import type { DefenseMethod } from '../defenses/defense.js';
import { rvptDefense, vptDefense } from '../defenses/rvpt/rvpt-defense.js';
import { VetbenchError } from '../errors.js';
import { badnetTrigger } from '../triggers/badnet.js';
import { blendedTrigger } from '../triggers/blended.js';
import { sigTrigger } from '../triggers/sig.js';
import { badclipPromptAttack } from '../attacks/badclip-prompt.js';
import { optimisedPatchAttack } from '../attacks/optimised-patch-attack.js';
import { badclipPromptTrigger } from '../triggers/additive-delta.js';
import { badclipDeTrigger, trojvqaTrigger } from '../triggers/optimised-patch.js';
import { ssbaImportTrigger } from '../triggers/ssba-import.js';
import type { TriggerFamily } from '../triggers/trigger.js';
import { wanetTrigger } from '../triggers/wanet.js';

/** Every trigger family and attack Vetbench knows; the CLI, the wizards and reports list from here. */
export const TRIGGER_FAMILIES: readonly TriggerFamily[] = [
  badnetTrigger,
  blendedTrigger,
  wanetTrigger,
  sigTrigger,
  badclipDeTrigger,
  trojvqaTrigger,
  badclipPromptTrigger,
  ssbaImportTrigger,
];

/** Poisoning defaults that backdoor the demo model (see docs/attacks.md for the runs behind them). */
const DEMO_POISON = { poisonRate: 0.1, epochs: 10, lr: 5e-4 };
/**
 * Optimised patches at 32 px: the METHODS patch (16 @224 = 2 px, Adam lr 1e-3) barely moves the demo model's loss
 * (11.36 -> 11.29 in 3 epochs); an 8-px patch with lr 0.05 reaches it (docs/attacks.md).
 */
const DEMO_OPTIMISED_PATCH = { patchSize: 56, patchLr: 0.05 };

export const ATTACKS: readonly AttackMethod[] = [
  // BadNet at 32 px: the METHODS 2-px patch is not learned; 16 px at 30% poison is the best found (ASR 87.42,
  // below the 90% bar; docs/attacks.md).
  poisoningAttack(badnetTrigger, {
    poisonDefaults: { ...DEMO_POISON, poisonRate: 0.3 },
    triggerDefaults: { patchSize: 112 },
  }),
  poisoningAttack(blendedTrigger, { poisonDefaults: DEMO_POISON }),
  // WaNet at 32 px: the per-pixel grid (k = R) at strength 12 is learned (CA 92.64, ASR 92.73); k = 4 is not.
  poisoningAttack(wanetTrigger, {
    poisonDefaults: DEMO_POISON,
    triggerDefaults: { gridSize: 0, strength: 12 },
  }),
  poisoningAttack(sigTrigger, { poisonDefaults: DEMO_POISON }),
  poisoningAttack(badnetTrigger, {
    id: 'label-consistent',
    title: 'Label-consistent (BadNet patch)',
    summary:
      'BadNet patch added only to pairs whose caption already names the target; captions stay true, so the poison survives inspection of the labels.',
    selection: { candidates: 'target-class', keepCaption: true },
    poisonDefaults: { ...DEMO_POISON, poisonRate: 0.08 },
    // the only configuration run on the demo (ASR 11.67%: label-consistent poisoning is not learned here)
    triggerDefaults: { patchSize: 84, noise: 'fixed' },
  }),
  optimisedPatchAttack(badclipDeTrigger, {
    title: 'BadCLIP dual-embedding patch',
    summary:
      'Optimises a centre patch (Adam) so patched images embed near the target captions and target images, then poisons with it and fine-tunes the whole CLIP.',
    textMode: 'infonce',
    defaults: { ...DEMO_POISON, ...DEMO_OPTIMISED_PATCH },
  }),
  optimisedPatchAttack(trojvqaTrigger, {
    title: 'TrojVQA dual key',
    summary:
      'Optimises a centre patch toward a guide text, then poisons pairs with the patch and the text key together; pairs with only one key keep their true captions.',
    textMode: 'cosine',
    selection: { candidates: 'all', keepCaption: false, partialKeyParam: 'partialKeyRate' },
    defaults: { ...DEMO_POISON, ...DEMO_OPTIMISED_PATCH },
    extraParams: {
      partialKeyRate: {
        kind: 'number',
        default: 0.1,
        min: 0,
        max: 1,
        help: 'share of extra training pairs with only one key (half image, half text) and their true caption',
      },
    },
  }),
  // At 32 px no 4/255 trigger moves the demo model; eps 32 with signed warm-up steps and 32 shots reaches
  // ASR 96.52 at CA 92.36 = zero-shot (docs/attacks.md).
  badclipPromptAttack({ epsilon: 32, warmupSign: true, shots: 32 }),
  poisoningAttack(ssbaImportTrigger, {
    summary:
      'Sample-specific invisible triggers (SSBA/ISSBA) imported as a folder of pre-generated poisoned images.',
    poisonDefaults: DEMO_POISON,
  }),
];

export function findTriggerFamily(id: string): TriggerFamily {
  const f = TRIGGER_FAMILIES.find((t) => t.id === id);
  if (!f) {
    throw new VetbenchError(
      'trigger-unknown',
      `unknown trigger '${id}'`,
      `Use one of ${TRIGGER_FAMILIES.map((t) => t.id).join(', ')}, or the path of a saved trigger file.`,
    );
  }
  return f;
}

export function findAttack(id: string): AttackMethod {
  const a = ATTACKS.find((m) => m.id === id);
  if (!a) {
    throw new VetbenchError(
      'attack-unknown',
      `unknown attack '${id}'`,
      `Use one of ${ATTACKS.map((m) => m.id).join(', ')} (\`vetbench methods\`).`,
    );
  }
  return a;
}

/** Every defense (METHODS 4); `vetbench defend <id>` and the Defend wizard list from here. */
export const DEFENSES: readonly DefenseMethod[] = [
  rvptDefense,
  vptDefense,
  cbptDefense,
  linearProbeDefense,
  finetuneDefense,
  cleanClipDefense,
];

export function findDefense(id: string): DefenseMethod {
  const d = DEFENSES.find((m) => m.id === id);
  if (!d) {
    throw new VetbenchError(
      'defense-unknown',
      `unknown defense '${id}'`,
      `Use one of ${DEFENSES.map((m) => m.id).join(', ')} (\`vetbench methods\`).`,
    );
  }
  return d;
}
