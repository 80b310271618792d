import type { Command } from 'commander';

/** Where a command writes; tests pass buffers instead of the process streams. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** A user-facing CLI failure: printed as one line, exit code 1. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Registers one command (or group) on its parent. Every file under commands/ exports one of these. */
export type CommandRegistrar = (parent: Command, io: CliIo) => void;

/** Collects a string-slice flag given repeated or comma-separated, as upstream's StringSlice flags. */
export function listFlag(value: string, previous: readonly string[]): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

/** Collects a repeatable flag whose values may contain commas (upstream's StringArray, e.g. patches). */
export function arrayFlag(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}
