import {
  encodeImage,
  visionBlocks,
  visionHead,
  visionStem,
  type ClipGraph,
} from '../../clip/clip-forward.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../../train/objective.js';
import { rvptLoss } from './rvpt-loss.js';

/**
 * RVPT training objective. Variables: `prompts` [L-D, b, W]. Batch: `pixels` [N,3,R,R], `targets` one-hot
 * [N, C], `classText` [C, E] (the fixed text head). The frozen pass depends on no variable, so neither
 * executor differentiates it.
 *
 * With `sharedPrefix` (the default) the stem and blocks 0..D-1, which prompts do not reach, are computed once
 * and both towers continue from that stream (METHODS 4.1); without it each tower runs from the pixels, the
 * plain formulation kept to test that both give the same numbers and to time the difference.
 */
export interface RvptObjectiveOptions {
  readonly depth: number;
  readonly alpha: number;
  readonly logitScale: number;
  readonly margin?: number;
  readonly sharedPrefix?: boolean;
}

interface Towers<T> {
  readonly promptedEmbeds: T;
  /** Class tokens after blocks D..L-1. */
  readonly promptedCls: T[];
  readonly frozenCls: T[];
}

/** Both towers from one stream after block D-1. */
export function sharedPrefixTowers<T>(g: ClipGraph<T>, pixels: T, depth: number, prompts: T): Towers<T> {
  const layers = g.config.vision.layers;
  const none = { cls: [] as T[], attentions: [] as T[], tokens: [] as T[] };
  const prefix = visionBlocks(g, visionStem(g, pixels), 0, depth, {}, none);
  const frozenSink = { cls: [] as T[], attentions: [] as T[], tokens: [] as T[] };
  visionBlocks(g, prefix, depth, layers, { collectCls: true }, frozenSink);
  const promptedSink = { cls: [] as T[], attentions: [] as T[], tokens: [] as T[] };
  const last = visionBlocks(
    g,
    prefix,
    depth,
    layers,
    { prompts: { depth, tensors: prompts }, collectCls: true },
    promptedSink,
  );
  return {
    promptedEmbeds: visionHead(g, last),
    promptedCls: promptedSink.cls,
    frozenCls: frozenSink.cls,
  };
}

/** Both towers run separately from the pixels (the prefix is computed twice). */
export function separateTowers<T>(g: ClipGraph<T>, pixels: T, depth: number, prompts: T): Towers<T> {
  const frozen = encodeImage(g, pixels, { collectCls: true });
  const prompted = encodeImage(g, pixels, { prompts: { depth, tensors: prompts }, collectCls: true });
  return {
    promptedEmbeds: prompted.embeds,
    promptedCls: prompted.cls.slice(1 + depth),
    frozenCls: frozen.cls.slice(1 + depth),
  };
}

export function rvptObjective(options: RvptObjectiveOptions): Objective {
  const shared = options.sharedPrefix ?? true;
  return {
    name: shared ? 'rvpt' : 'rvpt-unshared',
    build<T>({ ops, clip, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('RVPT needs a CLIP model');
      const layers = clip.config.vision.layers;
      if (!Number.isInteger(options.depth) || options.depth < 0 || options.depth >= layers) {
        throw new Error(`prompt depth ${options.depth} must be in 0..${layers - 1}`);
      }
      const towers = (shared ? sharedPrefixTowers : separateTowers)(
        clip,
        batch.pixels!,
        options.depth,
        vars.prompts!,
      );
      const { loss, ce, fr } = rvptLoss(ops, {
        imageEmbeds: towers.promptedEmbeds,
        classText: batch.classText!,
        targets: batch.targets!,
        promptedCls: towers.promptedCls,
        frozenCls: towers.frozenCls,
        alpha: options.alpha,
        logitScale: options.logitScale,
        ...(options.margin !== undefined ? { margin: options.margin } : {}),
      });
      return { loss, metrics: { ce, fr } };
    },
  };
}
