import type { Command } from 'commander';

// One line per command group; each module exports `register(program: Command): void`.
const groups: Array<(program: Command) => void> = [];

export function registerAll(program: Command): void {
  for (const register of groups) register(program);
}
