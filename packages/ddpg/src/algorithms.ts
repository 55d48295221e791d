/**
 * The algorithms, by name: the one list the configs (a discriminated union on `algo`), the
 * CLI's flags and {@link makeAgent} are built from. Adding an algorithm is a file exporting
 * an {@link Algorithm} and one line here (docs/ddpg.md, "Adding an algorithm").
 * @module
 */
import type { z } from 'zod';
import { ddpg } from './ddpg.ts';
import { dpg } from './dpg.ts';
import { td3 } from './td3.ts';

export const ALGORITHMS = { ddpg, td3, dpg } as const;

/** An algorithm name. */
export type AlgoName = keyof typeof ALGORITHMS;

/** The hyperparameters of a run: one config type per algorithm, told apart by `algo`. */
export type AgentConfig = { [K in AlgoName]: z.infer<(typeof ALGORITHMS)[K]['schema']> }[AlgoName];
